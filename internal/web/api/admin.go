package api

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// errAdminDisabled is what every admin endpoint answers without
// --web.enable-admin-api.
var errAdminDisabled = &apiError{errorUnavailable, errors.New("admin APIs disabled")}

// ErrAdminUnsupported is returned by a TSDBAdmin (and used when there is
// none) for an operation the storage cannot perform; the endpoint then
// answers with an unavailable error naming the operation.
var ErrAdminUnsupported = errors.New("not supported by this storage")

// What is missing when there is no TSDBAdmin: Vigil's storage is the
// in-memory head with its WAL, with neither blocks to snapshot nor
// tombstones to delete with.
var (
	errNoSnapshots  = fmt.Errorf("%w: the storage has no on-disk blocks to snapshot yet", ErrAdminUnsupported)
	errNoTombstones = fmt.Errorf("%w: the storage has no tombstones (deletion markers) yet", ErrAdminUnsupported)
)

func (a *API) adminError(op string, err error) result {
	if errors.Is(err, ErrAdminUnsupported) {
		return result{err: &apiError{errorUnavailable, fmt.Errorf("%s: %w", op, err)}}
	}
	return result{err: &apiError{errorInternal, fmt.Errorf("%s: %w", op, err)}}
}

func (a *API) snapshot(r *http.Request) result {
	if !a.opts.EnableAdmin {
		return result{err: errAdminDisabled}
	}
	skipHead := false
	if s := r.FormValue("skip_head"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return invalidParam(fmt.Errorf("unable to parse boolean: %w", err), "skip_head")
		}
		skipHead = b
	}
	if a.opts.Admin == nil {
		return a.adminError("create snapshot", errNoSnapshots)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	name := fmt.Sprintf("%s-%016x", time.Now().UTC().Format("20060102T150405Z0700"), binary.BigEndian.Uint64(rnd[:]))
	dir := filepath.Join(a.opts.DataDir, "snapshots", name)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return result{err: &apiError{errorInternal, fmt.Errorf("create snapshot directory: %w", err)}}
	}
	if err := a.opts.Admin.Snapshot(dir, !skipHead); err != nil {
		// Leave no empty directory behind that looks like a snapshot.
		_ = os.RemoveAll(dir)
		return a.adminError("create snapshot", err)
	}
	return result{data: struct {
		Name string `json:"name"`
	}{name}}
}

func (a *API) deleteSeries(r *http.Request) result {
	if !a.opts.EnableAdmin {
		return result{err: errAdminDisabled}
	}
	if err := r.ParseForm(); err != nil {
		return badData(fmt.Errorf("error parsing form values: %w", err))
	}
	if len(r.Form["match[]"]) == 0 {
		return badData(errors.New("no match[] parameter provided"))
	}
	mint, maxt, res := rangeParams(r)
	if res != nil {
		return *res
	}
	for _, s := range r.Form["match[]"] {
		ms, err := parser.ParseMetricSelector(s)
		if err != nil {
			return invalidParam(err, "match[]")
		}
		if a.opts.Admin == nil {
			return a.adminError("delete series", errNoTombstones)
		}
		if err := a.opts.Admin.Delete(r.Context(), mint, maxt, ms...); err != nil {
			return a.adminError("delete series", err)
		}
	}
	return result{}
}

func (a *API) cleanTombstones(*http.Request) result {
	if !a.opts.EnableAdmin {
		return result{err: errAdminDisabled}
	}
	if a.opts.Admin == nil {
		return a.adminError("clean tombstones", errNoTombstones)
	}
	if err := a.opts.Admin.CleanTombstones(); err != nil {
		return a.adminError("clean tombstones", err)
	}
	return result{}
}

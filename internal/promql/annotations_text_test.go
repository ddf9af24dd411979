package promql

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// TestPossibleNonCounterInfoText checks the fmt-free annotation against
// the fmt.Errorf it replaces: same text, same kind, for names that need
// quoting and escaping.
func TestPossibleNonCounterInfoText(t *testing.T) {
	for _, name := range []string{"a_one", "", `quo"te`, "back\\slash", "new\nline", "ünïcode", "\x00ctl"} {
		got := newPossibleNonCounterInfo(name, parser.PositionRange{Start: 3, End: 7})
		want := fmt.Errorf("%w: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: %q", PromQLInfo, name)
		if got.Error() != want.Error() {
			t.Errorf("name %q:\ngot  %s\nwant %s", name, got, want)
		}
		if !errors.Is(got, PromQLInfo) || errors.Is(got, PromQLWarning) {
			t.Errorf("name %q: wrong kind", name)
		}
	}
}

package discovery

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v2"
)

// The registry lets a configuration type hold `<name>_sd_configs` keys
// inline next to its own fields while staying strict about unknown keys
// and keeping YAML line numbers in errors. yaml.v2 offers no hook for
// "the rest of the mapping", so the decoder builds, per configuration
// type, a struct type at run time: the type's own fields inlined, plus one
// slice field per registered mechanism. One strict decode into that type
// then checks every key in one pass, exactly like a static struct would.

const staticConfigsKey = "static_configs"

var registry struct {
	sync.Mutex
	// keys maps a YAML key to the element type of its list.
	keys map[string]reflect.Type
	// names holds the registered mechanism names, to catch duplicates.
	names map[string]bool
	// types caches the built struct type per configuration type; cleared
	// on registration.
	types map[reflect.Type]*inlineType
}

// inlineType is a built struct type: field 0 is the configuration's own
// struct, inlined; field i>0 holds the list under keys[i-1].
type inlineType struct {
	typ  reflect.Type
	keys []string
}

func init() {
	registry.keys = map[string]reflect.Type{}
	registry.names = map[string]bool{}
	registry.types = map[reflect.Type]*inlineType{}
	register(staticConfigsKey, "static", reflect.TypeFor[*TargetGroup]())
}

// RegisterConfig makes `<name>_sd_configs` decodable into lists of values
// of cfg's dynamic type. The type must implement Config (and usually
// yaml.Unmarshaler to apply its defaults). It panics on a duplicate name:
// that is a programming error found at start-up.
func RegisterConfig(cfg Config) {
	register(cfg.Name()+"_sd_configs", cfg.Name(), reflect.TypeOf(cfg))
}

func register(key, name string, elem reflect.Type) {
	registry.Lock()
	defer registry.Unlock()
	if registry.names[name] {
		panic(fmt.Sprintf("discovery: mechanism %q registered twice", name))
	}
	registry.names[name] = true
	registry.keys[key] = elem
	clear(registry.types)
}

// RegisteredNames returns the registered mechanism names, sorted.
func RegisteredNames() []string {
	registry.Lock()
	defer registry.Unlock()
	names := make([]string, 0, len(registry.names))
	for n := range registry.names {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// upstreamMechanisms are the discovery mechanisms Prometheus knows. A key
// for one that is not registered here gets a clear "unsupported" error
// instead of "field … not found".
var upstreamMechanisms = []string{
	"azure", "consul", "digitalocean", "dns", "docker", "dockerswarm", "ec2", "eureka",
	"file", "gce", "hetzner", "http", "ionos", "kubernetes", "kuma", "lightsail",
	"linode", "marathon", "nerve", "nomad", "oci", "openstack", "outscale", "ovhcloud",
	"puppetdb", "scaleway", "serverset", "stackit", "triton", "uyuni", "vultr",
}

func inlineTypeFor(plain reflect.Type) *inlineType {
	registry.Lock()
	defer registry.Unlock()
	if it, ok := registry.types[plain]; ok {
		return it
	}
	keys := make([]string, 0, len(registry.keys))
	for k := range registry.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fields := []reflect.StructField{{
		Name: "Base",
		Type: plain,
		Tag:  `yaml:",inline"`,
	}}
	for i, k := range keys {
		fields = append(fields, reflect.StructField{
			Name: "SD" + strconv.Itoa(i),
			Type: reflect.SliceOf(registry.keys[k]),
			Tag:  reflect.StructTag(`yaml:"` + k + `,omitempty"`),
		})
	}
	it := &inlineType{typ: reflect.StructOf(fields), keys: keys}
	registry.types[plain] = it
	return it
}

// UnmarshalYAMLWithInlineConfigs decodes a mapping into *plain (a pointer
// to a struct without its own UnmarshalYAML, typically the `type plain T`
// alias of the caller, already holding defaults) and the registered
// `<name>_sd_configs` and static_configs keys into *configs. typeName
// replaces the built type's name in errors ("config.ScrapeConfig").
func UnmarshalYAMLWithInlineConfigs(plain any, configs *Configs, typeName string, unmarshal func(any) error) error {
	pv := reflect.ValueOf(plain)
	if pv.Kind() != reflect.Pointer || pv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("discovery: cannot decode inline configs into %T", plain)
	}
	it := inlineTypeFor(pv.Elem().Type())
	holder := reflect.New(it.typ)
	holder.Elem().Field(0).Set(pv.Elem())
	if err := unmarshal(holder.Interface()); err != nil {
		return rewriteTypeError(err, it.typ.String(), typeName)
	}
	pv.Elem().Set(holder.Elem().Field(0))

	var out Configs
	var static StaticConfig
	for i, key := range it.keys {
		list := holder.Elem().Field(i + 1)
		for j := 0; j < list.Len(); j++ {
			v := list.Index(j)
			if v.IsZero() || (v.Kind() == reflect.Pointer && v.Elem().IsZero()) {
				return fmt.Errorf("empty or null section in %s", key)
			}
			if tg, ok := v.Interface().(*TargetGroup); ok {
				// Sources number the static groups of one config in order.
				tg.Source = strconv.Itoa(len(static))
				static = append(static, tg)
				continue
			}
			out = append(out, v.Interface().(Config))
		}
	}
	if len(static) > 0 {
		out = append(out, static)
	}
	*configs = out
	return nil
}

var notFoundField = regexp.MustCompile(`field (\S+) not found in type .*$`)

// rewriteTypeError makes yaml's strict-mode errors about the built type
// read as errors about the real one, and turns unknown keys naming
// Prometheus mechanisms Vigil does not implement into a clear message.
func rewriteTypeError(err error, builtName, typeName string) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	for i, msg := range te.Errors {
		msg = strings.ReplaceAll(msg, builtName, typeName)
		if m := notFoundField.FindStringSubmatchIndex(msg); m != nil {
			key := msg[m[2]:m[3]]
			if name, ok := strings.CutSuffix(key, "_sd_configs"); ok && isUpstreamMechanism(name) {
				msg = msg[:m[0]] + "unsupported service discovery: " + key
			}
		}
		te.Errors[i] = msg
	}
	return te
}

func isUpstreamMechanism(name string) bool {
	for _, n := range upstreamMechanisms {
		if n == name {
			return true
		}
	}
	return false
}

// MarshalYAMLWithInlineConfigs is the inverse of
// UnmarshalYAMLWithInlineConfigs: it returns a value that marshals as
// plain's fields plus the configurations under their keys.
func MarshalYAMLWithInlineConfigs(plain any, configs Configs) (any, error) {
	pv := reflect.ValueOf(plain)
	for pv.Kind() == reflect.Pointer {
		pv = pv.Elem()
	}
	it := inlineTypeFor(pv.Type())
	holder := reflect.New(it.typ)
	holder.Elem().Field(0).Set(pv)
	index := make(map[reflect.Type]int, len(it.keys))
	for i, k := range it.keys {
		registry.Lock()
		index[registry.keys[k]] = i + 1
		registry.Unlock()
	}
	for _, c := range configs {
		if sc, ok := c.(StaticConfig); ok {
			f := holder.Elem().Field(index[reflect.TypeFor[*TargetGroup]()])
			for _, tg := range sc {
				f.Set(reflect.Append(f, reflect.ValueOf(tg)))
			}
			continue
		}
		i, ok := index[reflect.TypeOf(c)]
		if !ok {
			return nil, fmt.Errorf("discovery: cannot marshal unregistered config type %T", c)
		}
		f := holder.Elem().Field(i)
		f.Set(reflect.Append(f, reflect.ValueOf(c)))
	}
	return holder.Interface(), nil
}

package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// ErrUnknownEvent is returned when a stored event's name is not registered.
var ErrUnknownEvent = errors.New("unknown event")

// Upcaster turns a payload of one schema version into the next version's.
type Upcaster func(old json.RawMessage) (json.RawMessage, error)

type entry struct {
	typ       reflect.Type
	version   int
	upcasters map[int]Upcaster // from version -> to version+1
}

// Registry maps stored event names to Go types and upgrades old payloads.
// Build one with NewRegistry; it is safe for concurrent reads once built.
type Registry struct {
	byName map[string]*entry
}

// NewRegistry returns a registry holding every event type of the product.
func NewRegistry() *Registry {
	r := &Registry{byName: map[string]*entry{}}
	registerAll(r)
	return r
}

// NewEmptyRegistry returns a registry with no event types, for tests of the
// store itself.
func NewEmptyRegistry() *Registry { return &Registry{byName: map[string]*entry{}} }

// Register adds the type of e under e.EventName(). e must be a struct value
// (not a pointer). Registering a name twice panics: it is a programming
// error found by any test that builds the registry.
func (r *Registry) Register(e Event) {
	t := reflect.TypeOf(e)
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("events: register %T: want a struct value", e))
	}
	name := e.EventName()
	if _, dup := r.byName[name]; dup {
		panic("events: duplicate event name " + name)
	}
	r.byName[name] = &entry{typ: t, version: SchemaVersionOf(e), upcasters: map[int]Upcaster{}}
}

// Upcast registers fn to turn payloads of the named event from version
// `from` into version from+1.
func (r *Registry) Upcast(name string, from int, fn Upcaster) {
	e, ok := r.byName[name]
	if !ok {
		panic("events: upcaster for unregistered event " + name)
	}
	e.upcasters[from] = fn
}

// Names returns the registered event names.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.byName))
	for n := range r.byName {
		out = append(out, n)
	}
	return out
}

// Decode returns the typed event stored as name/version/payload, upcasting
// old payload versions first. It returns an error wrapping ErrUnknownEvent
// for an unregistered name, and an error (never a panic) for a payload that
// does not decode.
func (r *Registry) Decode(name string, version int, payload []byte) (Event, error) {
	e, ok := r.byName[name]
	if !ok {
		return nil, fmt.Errorf("decode %q: %w", name, ErrUnknownEvent)
	}
	if version < 1 {
		version = 1
	}
	if version > e.version {
		return nil, fmt.Errorf("decode %q: schema version %d is newer than this build knows (%d)", name, version, e.version)
	}
	raw := json.RawMessage(payload)
	for v := version; v < e.version; v++ {
		up, ok := e.upcasters[v]
		if !ok {
			return nil, fmt.Errorf("decode %q: no upcaster from schema version %d", name, v)
		}
		var err error
		if raw, err = up(raw); err != nil {
			return nil, fmt.Errorf("decode %q: upcast from version %d: %w", name, v, err)
		}
	}
	ptr := reflect.New(e.typ)
	if err := json.Unmarshal(raw, ptr.Interface()); err != nil {
		return nil, fmt.Errorf("decode %q: %w", name, err)
	}
	return ptr.Elem().Interface().(Event), nil
}

// DecodeEnvelope decodes the event carried by env.
func (r *Registry) DecodeEnvelope(env Envelope) (Event, error) {
	return r.Decode(env.Name, env.SchemaVersion, env.Payload)
}

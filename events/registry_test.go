package events

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type noteAdded struct {
	Text string `json:"text"`
	By   string `json:"by"`
}

func (noteAdded) EventName() string  { return "note.added" }
func (noteAdded) SchemaVersion() int { return 2 }

func TestRegistry_Decode(t *testing.T) {
	r := NewEmptyRegistry()
	r.Register(noteAdded{})
	// Version 1 stored the author as "author"; version 2 calls it "by".
	r.Upcast("note.added", 1, func(old json.RawMessage) (json.RawMessage, error) {
		var v1 struct {
			Text   string `json:"text"`
			Author string `json:"author"`
		}
		if err := json.Unmarshal(old, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(noteAdded{Text: v1.Text, By: v1.Author})
	})

	tests := []struct {
		name    string
		event   string
		version int
		payload string
		want    Event
		wantErr error
	}{
		{"current version", "note.added", 2, `{"text":"hi","by":"ann"}`, noteAdded{"hi", "ann"}, nil},
		{"old version upcast", "note.added", 1, `{"text":"hi","author":"bob"}`, noteAdded{"hi", "bob"}, nil},
		{"unknown name", "note.deleted", 1, `{}`, nil, ErrUnknownEvent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Decode(tc.event, tc.version, []byte(tc.payload))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err: got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("event (-want +got):\n%s", d)
			}
		})
	}

	t.Run("bad payload is an error, not a panic", func(t *testing.T) {
		if _, err := r.Decode("note.added", 2, []byte(`[1,2`)); err == nil {
			t.Fatal("got nil error for a malformed payload")
		}
	})
	t.Run("future version is an error", func(t *testing.T) {
		if _, err := r.Decode("note.added", 3, []byte(`{}`)); err == nil {
			t.Fatal("got nil error for a schema version newer than the build")
		}
	})
}

func TestNewRegistry_RoundTripsEveryEvent(t *testing.T) {
	r := NewRegistry()
	for _, name := range r.Names() {
		e := r.byName[name]
		if e.version != 1 && len(e.upcasters) != e.version-1 {
			t.Errorf("%s: schema version %d but %d upcasters", name, e.version, len(e.upcasters))
		}
		got, err := r.Decode(name, e.version, []byte(`{}`))
		if err != nil {
			t.Fatalf("%s: decode empty payload: %v", name, err)
		}
		if got.EventName() != name {
			t.Errorf("type registered as %q reports name %q", name, got.EventName())
		}
	}
}

package rotation

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/events"
)

// daily is a daily rotation handing off at 09:00 London time.
var daily = Settings{Name: "Primary", Type: Daily, ShiftLength: 1, Start: utc("2026-01-05 09:00"), TimeZone: "Europe/London"}

func TestCreate(t *testing.T) {
	tests := []struct {
		name    string
		s       func(*Settings)
		users   []string
		max     int
		wantErr error // matched with errors.Is; nil: success
		field   string
	}{
		{name: "valid", users: []string{"a", "b"}, max: 50},
		{name: "no participants yet", max: 50},
		{name: "empty name", s: func(s *Settings) { s.Name = "  " }, max: 50, field: "name"},
		{name: "unknown zone", s: func(s *Settings) { s.TimeZone = "Mars/Olympus" }, max: 50, field: "timeZone"},
		{name: "shift length 0", s: func(s *Settings) { s.ShiftLength = 0 }, max: 50, field: "shiftLength"},
		{name: "past the participant limit", users: []string{"a", "b", "c"}, max: 2, wantErr: ErrTooManyParticipants},
		{name: "unlimited participants", users: []string{"a", "b", "c"}, max: -1},
	}
	now := utc("2026-03-02 10:00")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := daily
			if tc.s != nil {
				tc.s(&s)
			}
			evs, err := Create("r1", s, tc.users, tc.max, now)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err: got %v, want %v", err, tc.wantErr)
				}
				return
			case tc.field != "":
				var de *domain.Error
				if !errors.As(err, &de) || de.Field != tc.field {
					t.Fatalf("err: got %v, want a field error on %s", err, tc.field)
				}
				return
			case err != nil:
				t.Fatalf("Create: %v", err)
			}
			r := FromHistory(evs)
			wantIdx := NoParticipant
			if len(tc.users) > 0 {
				wantIdx = 0
			}
			if got := r.ActiveIndexAt(now); got != wantIdx {
				t.Errorf("active index at creation: got %d, want %d", got, wantIdx)
			}
		})
	}
}

// given builds a rotation from the events of decisions applied in order.
func given(t *testing.T, evs ...[]events.Event) *Aggregate {
	t.Helper()
	r := &Aggregate{}
	for _, batch := range evs {
		for _, e := range batch {
			r.Apply(e)
		}
	}
	return r
}

func must(t *testing.T) func([]events.Event, error) []events.Event {
	return func(evs []events.Event, err error) []events.Event {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
}

func TestAggregate_Decisions(t *testing.T) {
	mon := utc("2026-03-02 10:00") // Monday; a is on call until Tuesday 09:00
	created := must(t)(Create("r1", daily, []string{"a", "b", "c"}, 50, mon))

	tests := []struct {
		name   string
		decide func(r *Aggregate) ([]events.Event, error)
		// want: who is on call at each instant after the decision (an
		// aggregate is the present configuration; AsOf is for the past).
		want map[string]string
		// noop: the decision records nothing.
		noop bool
	}{
		{
			name:   "nothing changes",
			decide: func(r *Aggregate) ([]events.Event, error) { return nil, nil },
			want:   map[string]string{"2026-03-02 12:00": "a", "2026-03-03 09:00": "b", "2026-03-04 09:00": "c", "2026-03-05 09:00": "a"},
			noop:   true,
		},
		{
			name: "reordering keeps whoever is on call",
			decide: func(r *Aggregate) ([]events.Event, error) {
				return r.SetParticipants([]string{"c", "b", "a"}, 50, utc("2026-03-03 10:00"))
			},
			// b stays on call; the next hand-off goes on in the new order, which wraps to c.
			want: map[string]string{"2026-03-03 12:00": "b", "2026-03-04 09:00": "a", "2026-03-05 09:00": "c"},
		},
		{
			name: "removing the user on call hands over at once",
			decide: func(r *Aggregate) ([]events.Event, error) {
				return r.SetParticipants([]string{"a", "c"}, 50, utc("2026-03-03 10:00"))
			},
			want: map[string]string{"2026-03-03 12:00": "c", "2026-03-04 09:00": "a"},
		},
		{
			name: "an empty list ends the rotation",
			decide: func(r *Aggregate) ([]events.Event, error) {
				return r.SetParticipants(nil, 50, utc("2026-03-03 10:00"))
			},
			want: map[string]string{"2026-03-03 12:00": "", "2026-03-10 12:00": ""},
		},
		{
			name:   "the same list records nothing",
			decide: func(r *Aggregate) ([]events.Event, error) { return r.SetParticipants([]string{"a", "b", "c"}, 50, mon) },
			noop:   true,
		},
		{
			name:   "choosing the active participant",
			decide: func(r *Aggregate) ([]events.Event, error) { return r.SetActive(2, utc("2026-03-02 11:00")) },
			want:   map[string]string{"2026-03-02 11:00": "c", "2026-03-03 09:00": "a"},
		},
		{
			name:   "choosing whoever is on call records nothing",
			decide: func(r *Aggregate) ([]events.Event, error) { return r.SetActive(0, utc("2026-03-02 11:00")) },
			noop:   true,
		},
		{
			name: "a new grid counts from the change",
			decide: func(r *Aggregate) ([]events.Event, error) {
				s := r.Settings()
				s.Type, s.ShiftLength = Hourly, 2
				return r.Update(s, 50, utc("2026-03-02 10:30"))
			},
			// a stays until the next 2-hour hand-off of the grid from 09:00: 11:00.
			want: map[string]string{"2026-03-02 10:45": "a", "2026-03-02 11:00": "b", "2026-03-02 13:00": "c"},
		},
		{
			name: "renaming keeps the anchor",
			decide: func(r *Aggregate) ([]events.Event, error) {
				s := r.Settings()
				s.Name = "P1"
				return r.Update(s, 50, mon)
			},
			want: map[string]string{"2026-03-03 09:00": "b"},
		},
		{
			name:   "removing a participant by position",
			decide: func(r *Aggregate) ([]events.Event, error) { return r.RemoveParticipant(0, utc("2026-03-02 11:00")) },
			want:   map[string]string{"2026-03-02 12:00": "b", "2026-03-03 09:00": "c", "2026-03-04 09:00": "b"},
		},
		{
			name:   "adding a participant",
			decide: func(r *Aggregate) ([]events.Event, error) { return r.AddParticipant("d", 50, mon) },
			want:   map[string]string{"2026-03-05 09:00": "d", "2026-03-06 09:00": "a"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := given(t, created)
			evs, err := tc.decide(r)
			if err != nil {
				t.Fatalf("decide: %v", err)
			}
			if tc.noop != (len(evs) == 0) {
				t.Fatalf("decided %v, want no events: %v", evs, tc.noop)
			}
			for _, e := range evs {
				r.Apply(e)
			}
			for at, want := range tc.want {
				if got := r.OnCallAt(utc(at)); got != want {
					t.Errorf("on call at %s: got %q, want %q", at, got, want)
				}
			}
		})
	}
}

func TestAggregate_Errors(t *testing.T) {
	now := utc("2026-03-02 10:00")
	r := given(t, must(t)(Create("r1", daily, []string{"a", "b"}, 50, now)))
	tests := []struct {
		name    string
		decide  func() ([]events.Event, error)
		wantErr error
	}{
		{"active index out of range", func() ([]events.Event, error) { return r.SetActive(2, now) }, nil},
		{"participant limit", func() ([]events.Event, error) { return r.AddParticipant("c", 2, now) }, ErrTooManyParticipants},
		{"set past the limit", func() ([]events.Event, error) { return r.SetParticipants([]string{"a", "b", "c"}, 2, now) }, ErrTooManyParticipants},
		{"remove out of range", func() ([]events.Event, error) { return r.RemoveParticipant(5, now) }, nil},
		{"deleted", func() ([]events.Event, error) {
			d := given(t, must(t)(Create("r2", daily, nil, 50, now)), must(t)(FromHistory(must(t)(Create("r2", daily, nil, 50, now))).Delete()))
			return d.SetActive(0, now)
		}, ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := tc.decide()
			if err == nil {
				t.Fatalf("decided %v, want an error", evs)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err: got %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// AsOf leaves out what happened after the instant asked about.
func TestAsOf(t *testing.T) {
	t1, t2 := utc("2026-03-02 10:00"), utc("2026-03-02 11:00")
	r := FromHistory(must(t)(Create("r1", daily, []string{"a", "b"}, 50, t1)))
	later := must(t)(r.SetActive(1, t2))
	evs := append(must(t)(Create("r1", daily, []string{"a", "b"}, 50, t1)), later...)
	at := []time.Time{t1, t2}
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{t1.Add(-time.Minute), ""},
		{t1.Add(30 * time.Minute), "a"},
		{t2, "b"},
	} {
		if got := AsOf(evs, at, tc.at).OnCallAt(tc.at); got != tc.want {
			t.Errorf("as of %s: got %q, want %q", tc.at, got, tc.want)
		}
	}
	// The events carry the whole definition: the last one alone rebuilds it.
	if d := cmp.Diff(FromHistory(evs).Definition().Participants, []string{"a", "b"}); d != "" {
		t.Errorf("participants (-got +want):\n%s", d)
	}
}

package calendar_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/oncallhq/goalert/adapters/calendar"
)

func TestRender_ParsesBack(t *testing.T) {
	start := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	long := strings.Repeat("Plattform-Bereitschaft über Nacht; Team A, B ", 4)
	feed := calendar.Feed{
		Name: "My shifts", AppName: "GoAlert", Generated: start.Add(-time.Hour),
		ReminderMinutes: []int{0, 15},
		Shifts: []calendar.Shift{
			{ScheduleID: "s1", ScheduleName: long, UserID: "u1", Start: start, End: start.Add(8 * time.Hour)},
			{ScheduleID: "s1", ScheduleName: long, UserID: "u1", Start: start.AddDate(0, 0, 7), End: start.AddDate(0, 0, 7).Add(8 * time.Hour)},
		},
	}
	var buf bytes.Buffer
	if err := calendar.Render(&buf, feed); err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	for i, line := range strings.Split(strings.TrimSuffix(raw, "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line %d is %d octets, more than 75: %q", i, len(line), line)
		}
		if strings.Contains(line, "\n") {
			t.Errorf("line %d has a bare LF: %q", i, line)
		}
	}

	cal, err := ical.NewDecoder(strings.NewReader(raw)).Decode()
	if err != nil {
		t.Fatalf("parse the feed: %v\n%s", err, raw)
	}
	if v, _ := cal.Props.Text(ical.PropVersion); v != "2.0" {
		t.Errorf("VERSION: got %q, want 2.0", v)
	}
	evs := cal.Events()
	if len(evs) != len(feed.Shifts) {
		t.Fatalf("events: got %d, want %d", len(evs), len(feed.Shifts))
	}
	uids := map[string]bool{}
	for i, ev := range evs {
		want := feed.Shifts[i]
		s, err := ev.DateTimeStart(time.UTC)
		if err != nil || !s.Equal(want.Start) {
			t.Errorf("event %d DTSTART: got %v (%v), want %v", i, s, err, want.Start)
		}
		e, err := ev.DateTimeEnd(time.UTC)
		if err != nil || !e.Equal(want.End) {
			t.Errorf("event %d DTEND: got %v (%v), want %v", i, e, err, want.End)
		}
		sum, err := ev.Props.Text(ical.PropSummary)
		if wantSum := "On-Call (GoAlert: " + long + ")"; err != nil || sum != wantSum {
			t.Errorf("event %d SUMMARY: got %q (%v), want %q", i, sum, err, wantSum)
		}
		uid, _ := ev.Props.Text(ical.PropUID)
		if uid == "" || uids[uid] {
			t.Errorf("event %d UID %q: want a distinct one", i, uid)
		}
		uids[uid] = true
		var triggers []time.Duration
		for _, c := range ev.Children {
			if c.Name != ical.CompAlarm {
				continue
			}
			d, err := c.Props.Get(ical.PropTrigger).Duration()
			if err != nil {
				t.Errorf("event %d alarm TRIGGER: %v", i, err)
			}
			triggers = append(triggers, d)
		}
		if len(triggers) != 2 || triggers[0] != 0 || triggers[1] != -15*time.Minute {
			t.Errorf("event %d alarms: got %v, want [0 -15m]", i, triggers)
		}
	}
}

// The same shift gets the same UID in every rendering, so calendar clients
// update events in place.
func TestRender_StableUIDs(t *testing.T) {
	sh := calendar.Shift{ScheduleID: "s1", UserID: "u1", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
	render := func(gen time.Time) string {
		var buf bytes.Buffer
		if err := calendar.Render(&buf, calendar.Feed{Generated: gen, Shifts: []calendar.Shift{sh}}); err != nil {
			t.Fatal(err)
		}
		cal, err := ical.NewDecoder(&buf).Decode()
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := cal.Events()[0].Props.Text(ical.PropUID)
		return uid
	}
	if a, b := render(sh.Start), render(sh.Start.Add(time.Hour)); a != b {
		t.Errorf("UIDs differ between renderings: %q and %q", a, b)
	}
}

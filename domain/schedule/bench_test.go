package schedule

import (
	"fmt"
	"testing"
	"time"

	"github.com/oncallhq/goalert/domain/rotation"
)

// BenchmarkYearOfShifts computes a year of shifts for a schedule whose only
// target is a 10-person weekly rotation, with 30 overrides.
func BenchmarkYearOfShifts(b *testing.B) {
	parts := make([]string, 10)
	for i := range parts {
		parts[i] = fmt.Sprint("user-", i)
	}
	rots := rotationsOf(map[string]rotationState{"weekly": {
		rot: rotation.Rotation{Type: rotation.Weekly, ShiftLength: 1, Start: local(chicago, "2024-01-01 09:00"), Zone: chicago,
			Participants: parts},
		anchor: rotation.Anchor{Index: 3, At: local(chicago, "2024-06-12 15:04")},
	}})
	spec := Spec{Zone: chicago, Targets: []Target{{Kind: TargetRotation, ID: "weekly", Rules: []Rule{Always()}}}}
	from := local(chicago, "2025-01-01 00:00")
	for i := range 30 {
		s := from.Add(time.Duration(i) * 12 * 24 * time.Hour).Add(time.Duration(i%24) * time.Hour)
		o := Override{ID: fmt.Sprint("o", i), Start: s, End: s.Add(time.Duration(4+i%3*20) * time.Hour)}
		switch i % 3 {
		case 0:
			o.AddUserID = "sub-" + fmt.Sprint(i)
		case 1:
			o.RemoveUserID = parts[i%10]
		default:
			o.RemoveUserID, o.AddUserID = parts[i%10], "sub-"+fmt.Sprint(i)
		}
		spec.Overrides = append(spec.Overrides, o)
	}
	if err := spec.Validate(); err != nil {
		b.Fatal(err)
	}
	to := from.AddDate(1, 0, 0)
	n := len(spec.Shifts(from, to, rots))
	if n < 52 {
		b.Fatalf("%d shifts in a year, want at least 52", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		spec.Shifts(from, to, rots)
	}
}

// BenchmarkOnCallNow1000 asks who is on call now on 1,000 schedules of a
// few targets each: two rotations (one limited to weekday business hours)
// and a user on nights, plus a few overrides, across three zones.
func BenchmarkOnCallNow1000(b *testing.B) {
	zones := []*time.Location{chicago, london, sydney}
	types := []rotation.Type{rotation.Hourly, rotation.Daily, rotation.Weekly, rotation.Monthly}
	now := utc("2025-11-02 07:30") // a few hours after Chicago falls back
	rots := map[string]rotationState{}
	specs := make([]Spec, 1000)
	for i := range specs {
		zone := zones[i%len(zones)]
		ids := [2]string{}
		for j := range ids {
			id := fmt.Sprintf("rot-%d-%d", i, j)
			ids[j] = id
			parts := make([]string, 3+(i+j)%6)
			for k := range parts {
				parts[k] = fmt.Sprintf("user-%d", (i*7+j*13+k)%500)
			}
			rots[id] = rotationState{
				rot: rotation.Rotation{Type: types[(i+j)%len(types)], ShiftLength: 1 + (i+j)%3,
					Start: time.Date(2024, 1, 1+i%28, 9, 0, 0, 0, zone), Zone: zone, Participants: parts},
				anchor: rotation.Anchor{Index: j, At: time.Date(2025, time.Month(1+i%9), 3, 12, 0, 0, 0, zone)},
			}
		}
		specs[i] = Spec{
			Zone: zone,
			Targets: []Target{
				{Kind: TargetRotation, ID: ids[0], Rules: []Rule{Always()}},
				{Kind: TargetRotation, ID: ids[1], Rules: []Rule{rule("09:00", "17:00", weekdays)}},
				{Kind: TargetUser, ID: fmt.Sprintf("user-%d", i%500), Rules: []Rule{rule("22:00", "06:00", Always().Weekdays)}},
			},
			Overrides: []Override{
				{AddUserID: "sub-a", Start: now.Add(-time.Hour), End: now.Add(time.Hour)},
				{RemoveUserID: "user-1", Start: now.Add(-48 * time.Hour), End: now.Add(-24 * time.Hour)},
				{RemoveUserID: "user-2", AddUserID: "sub-b", Start: now.Add(24 * time.Hour), End: now.Add(48 * time.Hour)},
			},
		}
	}
	lookup := rotationsOf(rots)
	on := 0
	for _, s := range specs {
		on += len(s.OnCallAt(now, lookup))
	}
	if on < 1000 {
		b.Fatalf("%d on call across 1,000 schedules, want at least 1,000", on)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range specs {
			s.OnCallAt(now, lookup)
		}
	}
}

package app_test

// Black-box tests of the GraphQL API for on-call (COMPAT §7): rotations,
// schedules with rules, overrides and temporary schedules, who a service's
// policy reaches now, point-in-time on-call read from the log, and
// calendar subscriptions, through the real server with the test clock.

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/oncallhq/goalert/adapters/webhook/webhooktest"
	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/domain/user"
)

// rfc is how the API writes an instant.
func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

type gqlRotation struct {
	ID, Name, Description, TimeZone, Type, Start string
	ShiftLength, ActiveUserIndex                 int
	UserIDs                                      []string
	Users                                        []struct{ Name string }
	NextHandoffTimes                             []string
}

const rotationFieldsGQL = `id name description timeZone type start shiftLength activeUserIndex userIDs users { name } nextHandoffTimes(num: 3)`

func readRotation(t *testing.T, h *apptest.Harness, token, id string) *gqlRotation {
	t.Helper()
	var out struct{ Rotation *gqlRotation }
	mustGQL(t, h, token, `query($id: ID!) { rotation(id: $id) { `+rotationFieldsGQL+` } }`, map[string]any{"id": id}, &out)
	return out.Rotation
}

func createRotationGQL(t *testing.T, h *apptest.Harness, token string, in map[string]any) gqlRotation {
	t.Helper()
	var out struct{ CreateRotation *gqlRotation }
	mustGQL(t, h, token, `mutation($in: CreateRotationInput!) { createRotation(input: $in) { `+rotationFieldsGQL+` } }`, map[string]any{"in": in}, &out)
	if out.CreateRotation == nil {
		t.Fatalf("createRotation %v: got null, want the rotation", in)
	}
	return *out.CreateRotation
}

func createScheduleGQL(t *testing.T, h *apptest.Harness, token string, in map[string]any) string {
	t.Helper()
	var out struct{ CreateSchedule *struct{ ID string } }
	mustGQL(t, h, token, `mutation($in: CreateScheduleInput!) { createSchedule(input: $in) { id } }`, map[string]any{"in": in}, &out)
	if out.CreateSchedule == nil {
		t.Fatalf("createSchedule %v: got null, want the schedule", in)
	}
	return out.CreateSchedule.ID
}

// alwaysOn is a target on call all the time (a rule with no times and no
// weekday filter, as GoAlert's UI sends it).
func alwaysOn(typ, id string) map[string]any {
	return map[string]any{"target": map[string]any{"type": typ, "id": id}, "rules": []map[string]any{{}}}
}

type gqlShift struct {
	UserID     string
	User       *struct{ Name string }
	Start, End string
	Truncated  bool
}

func readShifts(t *testing.T, h *apptest.Harness, token, schedID string, start, end time.Time) []gqlShift {
	t.Helper()
	var out struct {
		Schedule struct{ Shifts []gqlShift }
	}
	mustGQL(t, h, token, `query($id: ID!, $s: ISOTimestamp!, $e: ISOTimestamp!) { schedule(id: $id) {
		shifts(start: $s, end: $e) { userID user { name } start end truncated } } }`,
		map[string]any{"id": schedID, "s": rfc(start), "e": rfc(end)}, &out)
	return out.Schedule.Shifts
}

// shiftLine is a shift as a test compares it.
type shiftLine struct {
	Name, Start, End string
	Truncated        bool
}

func shiftLines(shifts []gqlShift) []shiftLine {
	out := []shiftLine{}
	for _, s := range shifts {
		name := s.UserID
		if s.User != nil {
			name = s.User.Name
		}
		out = append(out, shiftLine{name, s.Start, s.End, s.Truncated})
	}
	return out
}

func TestGraphQL_Rotations(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	admin := newAccount(t, h, "Admin", "admin", user.RoleAdmin)
	ann := newAccount(t, h, "Ann", "ann", user.RoleUser)
	bob := createUser(t, h, "Bob", "bob", user.RoleUser)
	carol := createUser(t, h, "Carol", "carol", user.RoleUser)
	start := apptest.Start // Saturday 03:00 in Chicago; clocks go forward on Sunday

	// A plain user may create rotations, as in GoAlert.
	rot := createRotationGQL(t, h, ann.Token, map[string]any{"name": "Primary", "description": "Storefront", "timeZone": "America/Chicago",
		"start": rfc(start), "type": "daily", "userIDs": []string{ann.ID, bob}})
	// Hand-offs stay at 03:00 on the wall clock across the change to CDT.
	wantHandoffs := []string{"2026-03-08T08:00:00Z", "2026-03-09T08:00:00Z", "2026-03-10T08:00:00Z"}
	t.Run("created", func(t *testing.T) {
		if rot.Name != "Primary" || rot.Description != "Storefront" || rot.TimeZone != "America/Chicago" || rot.Type != "daily" ||
			rot.ShiftLength != 1 || rot.Start != rfc(start) || rot.ActiveUserIndex != 0 || !slices.Equal(rot.UserIDs, []string{ann.ID, bob}) {
			t.Errorf("createRotation: got %+v, want a daily rotation of ann then bob, shift length 1 by default, ann on call", rot)
		}
		if len(rot.Users) != 2 || rot.Users[0].Name != "Ann" || rot.Users[1].Name != "Bob" {
			t.Errorf("users: got %+v, want Ann, Bob", rot.Users)
		}
		if !slices.Equal(rot.NextHandoffTimes, wantHandoffs) {
			t.Errorf("nextHandoffTimes(num: 3): got %v, want %v", rot.NextHandoffTimes, wantHandoffs)
		}
		var def struct {
			Rotation struct{ NextHandoffTimes []string }
		}
		mustGQL(t, h, ann.Token, `query($id: ID!) { rotation(id: $id) { nextHandoffTimes } }`, map[string]any{"id": rot.ID}, &def)
		if !slices.Equal(def.Rotation.NextHandoffTimes, wantHandoffs[:2]) {
			t.Errorf("nextHandoffTimes without num: got %v, want one per participant %v", def.Rotation.NextHandoffTimes, wantHandoffs[:2])
		}
		_, errs := gql(t, h, ann.Token, `mutation($in: CreateRotationInput!) { createRotation(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"name": "primary", "timeZone": "UTC", "start": rfc(start), "type": "weekly"}})
		wantGQLError(t, "a second rotation named primary", errs, "CONFLICT")
		_, errs = gql(t, h, ann.Token, `mutation($in: CreateRotationInput!) { createRotation(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"name": "Nowhere", "timeZone": "Mars/Olympus", "start": rfc(start), "type": "weekly"}})
		if e := wantGQLError(t, "a rotation in an unknown zone", errs, "INVALID_INPUT_VALUE"); e.Extensions["field"] != "timeZone" {
			t.Errorf("unknown zone: got extensions %v, want field timeZone", e.Extensions)
		}
	})

	t.Run("calcRotationHandoffTimes", func(t *testing.T) {
		const calc = `query($in: CalcRotationHandoffTimesInput) { calcRotationHandoffTimes(input: $in) }`
		for _, in := range []map[string]any{
			{"shiftLength": "P1D"},
			{"shiftLengthHours": 24}, // 24 hours of wall clock: also 03:00 after the change
		} {
			in["handoff"], in["timeZone"], in["count"] = rfc(start), "America/Chicago", 3
			var out struct{ CalcRotationHandoffTimes []string }
			mustGQL(t, h, ann.Token, calc, map[string]any{"in": in}, &out)
			if !slices.Equal(out.CalcRotationHandoffTimes, wantHandoffs) {
				t.Errorf("calcRotationHandoffTimes %v: got %v, want %v", in, out.CalcRotationHandoffTimes, wantHandoffs)
			}
		}
		var weekly struct{ CalcRotationHandoffTimes []string }
		mustGQL(t, h, ann.Token, calc, map[string]any{"in": map[string]any{"handoff": rfc(start), "from": rfc(start.Add(30 * 24 * time.Hour)),
			"timeZone": "UTC", "shiftLength": "P2W", "count": 1}}, &weekly)
		if want := []string{rfc(start.Add(6 * 7 * 24 * time.Hour))}; !slices.Equal(weekly.CalcRotationHandoffTimes, want) {
			t.Errorf("every 2 weeks, from 30 days on: got %v, want %v", weekly.CalcRotationHandoffTimes, want)
		}
		for what, in := range map[string]map[string]any{
			"21 hand-offs":                  {"shiftLength": "P1D", "count": 21},
			"days and hours":                {"shiftLength": "P1DT1H", "count": 1},
			"shiftLength and hours":         {"shiftLength": "P1D", "shiftLengthHours": 24, "count": 1},
			"neither shiftLength nor hours": {"count": 1},
		} {
			in["handoff"], in["timeZone"] = rfc(start), "UTC"
			_, errs := gql(t, h, ann.Token, calc, map[string]any{"in": in})
			wantGQLError(t, "calcRotationHandoffTimes with "+what, errs, "INVALID_INPUT_VALUE")
		}
	})

	t.Run("hand-off and update", func(t *testing.T) {
		h.Clock.Advance(23 * time.Hour) // to the first hand-off
		if got := readRotation(t, h, ann.Token, rot.ID); got == nil || got.ActiveUserIndex != 1 || len(got.NextHandoffTimes) != 3 ||
			!slices.Equal(got.NextHandoffTimes[:2], wantHandoffs[1:]) {
			t.Fatalf("at the first hand-off: got %+v, want bob (1) on call and the hand-offs after it", got)
		}
		const update = `mutation($in: UpdateRotationInput!) { updateRotation(input: $in) }`
		mustGQL(t, h, ann.Token, update, map[string]any{"in": map[string]any{"id": rot.ID, "activeUserIndex": 0}}, nil)
		if got := readRotation(t, h, ann.Token, rot.ID); got == nil || got.ActiveUserIndex != 0 {
			t.Errorf("after activeUserIndex 0: got %+v, want ann on call again", got)
		}
		mustGQL(t, h, ann.Token, update, map[string]any{"in": map[string]any{"id": rot.ID, "name": "Primary on-call", "description": "",
			"type": "weekly", "shiftLength": 2, "userIDs": []string{carol, ann.ID, bob}}}, nil)
		got := readRotation(t, h, ann.Token, rot.ID)
		if got == nil || got.Name != "Primary on-call" || got.Description != "" || got.Type != "weekly" || got.ShiftLength != 2 ||
			!slices.Equal(got.UserIDs, []string{carol, ann.ID, bob}) || got.Users[0].Name != "Carol" {
			t.Fatalf("after updateRotation: got %+v, want Primary on-call, weekly by 2, carol, ann, bob", got)
		}
		if got.UserIDs[got.ActiveUserIndex] != ann.ID {
			t.Errorf("after reordering: got %s on call, want ann still on call", got.UserIDs[got.ActiveUserIndex])
		}
		_, errs := gql(t, h, ann.Token, update, map[string]any{"in": map[string]any{"id": rot.ID, "activeUserIndex": 3}})
		wantGQLError(t, "activeUserIndex past the participants", errs, "INVALID_INPUT_VALUE")
		_, errs = gql(t, h, ann.Token, update, map[string]any{"in": map[string]any{"id": uuid.NewString(), "name": "Ghost"}})
		wantGQLError(t, "updateRotation of an unknown rotation", errs, "NOT_FOUND")
	})

	t.Run("search and pages", func(t *testing.T) {
		createRotationGQL(t, h, ann.Token, map[string]any{"name": "Secondary", "timeZone": "UTC", "start": rfc(start), "type": "hourly", "shiftLength": 8})
		var names []string
		after := ""
		for range 5 {
			var out struct {
				Rotations struct {
					Nodes    []struct{ Name string }
					PageInfo struct {
						EndCursor   *string
						HasNextPage bool
					}
				}
			}
			mustGQL(t, h, ann.Token, `query($after: String) { rotations(input: {first: 1, after: $after}) { nodes { name } pageInfo { endCursor hasNextPage } } }`,
				map[string]any{"after": after}, &out)
			for _, n := range out.Rotations.Nodes {
				names = append(names, n.Name)
			}
			if !out.Rotations.PageInfo.HasNextPage {
				break
			}
			after = *out.Rotations.PageInfo.EndCursor
		}
		if want := []string{"Primary on-call", "Secondary"}; !slices.Equal(names, want) {
			t.Errorf("rotations one per page: got %v, want %v", names, want)
		}
		var found struct {
			Rotations struct{ Nodes []struct{ Name string } }
		}
		mustGQL(t, h, ann.Token, `{ rotations(input: {search: "second"}) { nodes { name } } }`, nil, &found)
		if n := found.Rotations.Nodes; len(n) != 1 || n[0].Name != "Secondary" {
			t.Errorf("rotations searching second: got %+v, want Secondary", n)
		}
	})

	t.Run("a policy step shows the rotation's name", func(t *testing.T) {
		var out struct{ CreateEscalationPolicy *gqlPolicy }
		mustGQL(t, h, admin.Token, `mutation($in: CreateEscalationPolicyInput!) { createEscalationPolicy(input: $in) { `+policyFieldsGQL+` } }`,
			map[string]any{"in": map[string]any{"name": "Via rotation", "steps": []map[string]any{
				{"delayMinutes": 5, "targets": []map[string]any{{"type": "rotation", "id": rot.ID}}}}}}, &out)
		s := out.CreateEscalationPolicy.Steps[0]
		if s.Targets[0].Name != "Primary on-call" || s.Actions[0].Info.Text != "Primary on-call" {
			t.Errorf("step of the rotation: got targets %+v, actions %+v, want both named Primary on-call", s.Targets, s.Actions)
		}
	})

	t.Run("deleteAll", func(t *testing.T) {
		mustGQL(t, h, ann.Token, `mutation($id: ID!) { deleteAll(input: [{type: rotation, id: $id}]) }`, map[string]any{"id": rot.ID}, nil)
		if got := readRotation(t, h, ann.Token, rot.ID); got != nil {
			t.Errorf("rotation after deleteAll: got %+v, want null", got)
		}
	})
}

func TestGraphQL_ScheduleShiftsAcrossDST(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	ann := newAccount(t, h, "Ann", "ann", user.RoleUser)
	bob := createUser(t, h, "Bob", "bob", user.RoleUser)
	carol := createUser(t, h, "Carol", "carol", user.RoleUser)
	weekdays := []bool{false, true, true, true, true, true, false}
	sched := createScheduleGQL(t, h, ann.Token, map[string]any{"name": "Storefront", "description": "Daytime", "timeZone": "America/Chicago",
		"targets": []map[string]any{
			{"target": map[string]any{"type": "user", "id": ann.ID}, "rules": []map[string]any{{"start": "09:00", "end": "17:00", "weekdayFilter": weekdays}}},
			// A whole Sunday: 23 hours on the day clocks go forward.
			{"target": map[string]any{"type": "user", "id": bob}, "rules": []map[string]any{{"start": "00:00", "end": "00:00",
				"weekdayFilter": []bool{true, false, false, false, false, false, false}}}},
			{"target": map[string]any{"type": "user", "id": carol}, "rules": []map[string]any{{"start": "00:00", "end": "06:00",
				"weekdayFilter": []bool{false, false, false, false, false, false, true}}}},
		}})

	t.Run("shifts of a week", func(t *testing.T) {
		from, to := apptest.Start, apptest.Start.Add(7*24*time.Hour)
		got := shiftLines(readShifts(t, h, ann.Token, sched, from, to))
		want := []shiftLine{
			{"Carol", "2026-03-07T09:00:00Z", "2026-03-07T12:00:00Z", false}, // Saturday 00:00-06:00 CST, from now
			{"Bob", "2026-03-08T06:00:00Z", "2026-03-09T05:00:00Z", false},   // Sunday, CST to CDT
		}
		for d := 9; d <= 13; d++ {
			day := time.Date(2026, 3, d, 14, 0, 0, 0, time.UTC) // 09:00 CDT
			want = append(want, shiftLine{"Ann", rfc(day), rfc(day.Add(8 * time.Hour)), false})
		}
		want = append(want, shiftLine{"Carol", "2026-03-14T05:00:00Z", "2026-03-14T09:00:00Z", true}) // goes on past the window
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("shifts over the week (-want +got):\n%s", d)
		}
		var only struct {
			Schedule struct{ Shifts []gqlShift }
		}
		mustGQL(t, h, ann.Token, `query($id: ID!, $s: ISOTimestamp!, $e: ISOTimestamp!, $u: [ID!]) { schedule(id: $id) {
			shifts(start: $s, end: $e, userIDs: $u) { userID start end truncated } } }`,
			map[string]any{"id": sched, "s": rfc(from), "e": rfc(to), "u": []string{bob}}, &only)
		if s := only.Schedule.Shifts; len(s) != 1 || s[0].UserID != bob {
			t.Errorf("shifts of bob alone: got %+v, want his Sunday", s)
		}
		_, errs := gql(t, h, ann.Token, `query($id: ID!, $s: ISOTimestamp!, $e: ISOTimestamp!) { schedule(id: $id) { shifts(start: $s, end: $e) { userID } } }`,
			map[string]any{"id": sched, "s": rfc(from), "e": rfc(from.Add(51 * 24 * time.Hour))})
		wantGQLError(t, "shifts over 51 days", errs, "INVALID_INPUT_VALUE")
	})

	type target struct {
		Target struct{ ID, Type, Name string }
		Rules  []struct {
			ID, Start, End string
			WeekdayFilter  []bool
		}
	}
	t.Run("targets", func(t *testing.T) {
		var out struct {
			Schedule struct {
				Name, Description, TimeZone string
				Targets                     []target
				Target                      *target
			}
		}
		mustGQL(t, h, ann.Token, `query($id: ID!, $ann: ID!) { schedule(id: $id) { name description timeZone
			targets { target { id type name } rules { id start end weekdayFilter } }
			target(input: {type: user, id: $ann}) { target { id type name } rules { id start end weekdayFilter } } } }`,
			map[string]any{"id": sched, "ann": ann.ID}, &out)
		s := out.Schedule
		if s.Name != "Storefront" || s.Description != "Daytime" || s.TimeZone != "America/Chicago" || len(s.Targets) != 3 {
			t.Fatalf("schedule: got %+v, want Storefront in America/Chicago with 3 targets", s)
		}
		a := s.Target
		if a == nil || a.Target.Type != "user" || a.Target.ID != ann.ID || a.Target.Name != "Ann" || len(a.Rules) != 1 ||
			a.Rules[0].Start != "09:00" || a.Rules[0].End != "17:00" || !slices.Equal(a.Rules[0].WeekdayFilter, weekdays) || a.Rules[0].ID == "" {
			t.Errorf("ann's target: got %+v, want her 09:00-17:00 weekday rule", a)
		}
	})

	t.Run("updateScheduleTarget", func(t *testing.T) {
		const update = `mutation($in: ScheduleTargetInput!) { updateScheduleTarget(input: $in) }`
		mustGQL(t, h, ann.Token, update, map[string]any{"in": map[string]any{"scheduleID": sched, "target": map[string]any{"type": "user", "id": ann.ID},
			"rules": []map[string]any{{"start": "22:00", "end": "06:00", "weekdayFilter": weekdays}}}}, nil)
		mustGQL(t, h, ann.Token, update, map[string]any{"in": map[string]any{"scheduleID": sched, "target": map[string]any{"type": "user", "id": carol}, "rules": []any{}}}, nil)
		var out struct {
			Schedule struct{ Targets []target }
		}
		mustGQL(t, h, ann.Token, `query($id: ID!) { schedule(id: $id) { targets { target { id type name } rules { id start end weekdayFilter } } } }`,
			map[string]any{"id": sched}, &out)
		var names []string
		for _, tg := range out.Schedule.Targets {
			names = append(names, tg.Target.Name)
			if tg.Target.ID == ann.ID && (len(tg.Rules) != 1 || tg.Rules[0].Start != "22:00" || tg.Rules[0].End != "06:00") {
				t.Errorf("ann's rules after the update: got %+v, want 22:00-06:00", tg.Rules)
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"Ann", "Bob"}) {
			t.Errorf("targets after removing carol's rules: got %v, want Ann and Bob", names)
		}
		// Monday 22:00 CDT until Tuesday 06:00 CDT.
		got := shiftLines(readShifts(t, h, ann.Token, sched, time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)))
		if want := []shiftLine{{"Ann", "2026-03-10T03:00:00Z", "2026-03-10T11:00:00Z", false}}; !cmp.Equal(want, got) {
			t.Errorf("overnight shift: got %+v, want %+v", got, want)
		}
		_, errs := gql(t, h, ann.Token, update, map[string]any{"in": map[string]any{"scheduleID": sched,
			"target": map[string]any{"type": "user", "id": uuid.NewString()}, "rules": []map[string]any{{}}}})
		wantGQLError(t, "a target that is no user", errs, "INVALID_INPUT_VALUE")
		_, errs = gql(t, h, ann.Token, update, map[string]any{"in": map[string]any{"scheduleID": sched, "target": map[string]any{"type": "user", "id": bob},
			"rules": []map[string]any{{"start": "9 am"}}}})
		wantGQLError(t, "a rule starting at 9 am", errs, "GRAPHQL_VALIDATION_FAILED")
	})

	t.Run("schedules and updateSchedule", func(t *testing.T) {
		mustGQL(t, h, ann.Token, `mutation($id: ID!) { updateSchedule(input: {id: $id, name: "Storefront days", timeZone: "Europe/Berlin"}) }`,
			map[string]any{"id": sched}, nil)
		var out struct {
			Schedules struct {
				Nodes []struct{ ID, Name, TimeZone string }
			}
		}
		mustGQL(t, h, ann.Token, `{ schedules(input: {search: "store"}) { nodes { id name timeZone } } }`, nil, &out)
		if n := out.Schedules.Nodes; len(n) != 1 || n[0].ID != sched || n[0].Name != "Storefront days" || n[0].TimeZone != "Europe/Berlin" {
			t.Errorf("schedules after updateSchedule: got %+v, want Storefront days in Europe/Berlin", n)
		}
		mustGQL(t, h, ann.Token, `mutation($id: ID!) { deleteAll(input: [{type: schedule, id: $id}]) }`, map[string]any{"id": sched}, nil)
		var gone struct{ Schedule *struct{ ID string } }
		mustGQL(t, h, ann.Token, `query($id: ID!) { schedule(id: $id) { id } }`, map[string]any{"id": sched}, &gone)
		if gone.Schedule != nil {
			t.Errorf("schedule after deleteAll: got %+v, want null", gone.Schedule)
		}
	})
}

func TestGraphQL_UserOverridesAndTemporarySchedules(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	ann := newAccount(t, h, "Ann", "ann", user.RoleUser)
	bob := createUser(t, h, "Bob", "bob", user.RoleUser)
	carol := createUser(t, h, "Carol", "carol", user.RoleUser)
	now := apptest.Start
	sched := createScheduleGQL(t, h, ann.Token, map[string]any{"name": "Primary", "timeZone": "UTC", "targets": []map[string]any{alwaysOn("user", ann.ID)}})

	type override struct {
		ID, Start, End, AddUserID, RemoveUserID string
		AddUser, RemoveUser                     *struct{ Name string }
		Target                                  struct{ ID, Type, Name string }
	}
	const fields = `id start end addUserID removeUserID addUser { name } removeUser { name } target { id type name }`
	const create = `mutation($in: CreateUserOverrideInput!) { createUserOverride(input: $in) { ` + fields + ` } }`
	in := func(start, end time.Duration, add, remove string) map[string]any {
		m := map[string]any{"scheduleID": sched, "start": rfc(now.Add(start)), "end": rfc(now.Add(end))}
		if add != "" {
			m["addUserID"] = add
		}
		if remove != "" {
			m["removeUserID"] = remove
		}
		return map[string]any{"in": m}
	}
	var out struct{ CreateUserOverride *override }
	mustGQL(t, h, ann.Token, create, in(time.Hour, 2*time.Hour, bob, ann.ID), &out)
	replace := out.CreateUserOverride
	if replace == nil || replace.AddUserID != bob || replace.RemoveUserID != ann.ID || replace.AddUser == nil || replace.AddUser.Name != "Bob" ||
		replace.RemoveUser == nil || replace.RemoveUser.Name != "Ann" || replace.Start != rfc(now.Add(time.Hour)) ||
		replace.Target.Type != "schedule" || replace.Target.ID != sched || replace.Target.Name != "Primary" {
		t.Fatalf("createUserOverride replacing ann with bob: got %+v", replace)
	}

	t.Run("overlap and bad input", func(t *testing.T) {
		_, errs := gql(t, h, ann.Token, create, in(90*time.Minute, 3*time.Hour, bob, ""))
		if e := wantGQLError(t, "an override adding bob while he replaces ann", errs, "INVALID_INPUT_VALUE"); e.Extensions["reason"] != "override_conflict" {
			t.Errorf("overlap: got extensions %v, want reason override_conflict", e.Extensions)
		}
		_, errs = gql(t, h, ann.Token, create, in(-2*time.Hour, -time.Hour, carol, ""))
		wantGQLError(t, "an override that has ended", errs, "INVALID_INPUT_VALUE")
		_, errs = gql(t, h, ann.Token, create, in(time.Hour, 2*time.Hour, "", ""))
		wantGQLError(t, "an override with no user", errs, "INVALID_INPUT_VALUE")
		bad := in(time.Hour, 2*time.Hour, carol, "")
		bad["in"].(map[string]any)["scheduleID"] = uuid.NewString()
		_, errs = gql(t, h, ann.Token, create, bad)
		wantGQLError(t, "an override on an unknown schedule", errs, "NOT_FOUND")
	})

	var second struct{ CreateUserOverride *override }
	mustGQL(t, h, ann.Token, create, in(90*time.Minute, 3*time.Hour, carol, ""), &second)
	add := second.CreateUserOverride
	if add == nil || add.AddUserID != carol || add.RemoveUserID != "" || add.RemoveUser != nil {
		t.Fatalf("createUserOverride adding carol: got %+v", add)
	}

	t.Run("shifts follow the overrides", func(t *testing.T) {
		got := shiftLines(readShifts(t, h, ann.Token, sched, now, now.Add(4*time.Hour)))
		want := []shiftLine{
			{"Ann", rfc(now), rfc(now.Add(time.Hour)), false},
			{"Bob", rfc(now.Add(time.Hour)), rfc(now.Add(2 * time.Hour)), false},
			{"Carol", rfc(now.Add(90 * time.Minute)), rfc(now.Add(3 * time.Hour)), false},
			{"Ann", rfc(now.Add(2 * time.Hour)), rfc(now.Add(4 * time.Hour)), true},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("shifts with a replace and an add (-want +got):\n%s", d)
		}
	})

	t.Run("userOverrides", func(t *testing.T) {
		search := func(in map[string]any) []string {
			t.Helper()
			var out struct {
				UserOverrides struct{ Nodes []struct{ ID string } }
			}
			mustGQL(t, h, ann.Token, `query($in: UserOverrideSearchOptions) { userOverrides(input: $in) { nodes { id } } }`, map[string]any{"in": in}, &out)
			var ids []string
			for _, n := range out.UserOverrides.Nodes {
				ids = append(ids, n.ID)
			}
			return ids
		}
		for what, c := range map[string]struct {
			in   map[string]any
			want []string
		}{
			"of the schedule":     {map[string]any{"scheduleID": sched}, []string{replace.ID, add.ID}},
			"adding bob":          {map[string]any{"scheduleID": sched, "filterAddUserID": []string{bob}}, []string{replace.ID}},
			"removing ann":        {map[string]any{"filterRemoveUserID": []string{ann.ID}}, []string{replace.ID}},
			"involving carol":     {map[string]any{"filterAnyUserID": []string{carol}}, []string{add.ID}},
			"after two hours":     {map[string]any{"scheduleID": sched, "start": rfc(now.Add(2 * time.Hour))}, []string{add.ID}},
			"omitting the first":  {map[string]any{"scheduleID": sched, "omit": []string{replace.ID}}, []string{add.ID}},
			"on another schedule": {map[string]any{"scheduleID": uuid.NewString()}, nil},
		} {
			if got := search(c.in); !slices.Equal(got, c.want) {
				t.Errorf("userOverrides %s: got %v, want %v", what, got, c.want)
			}
		}
		var page struct {
			UserOverrides struct {
				Nodes    []struct{ ID string }
				PageInfo struct {
					EndCursor   *string
					HasNextPage bool
				}
			}
		}
		const paged = `query($after: String) { userOverrides(input: {first: 1, after: $after}) { nodes { id } pageInfo { endCursor hasNextPage } } }`
		mustGQL(t, h, ann.Token, paged, map[string]any{"after": ""}, &page)
		if n := page.UserOverrides.Nodes; len(n) != 1 || n[0].ID != replace.ID || !page.UserOverrides.PageInfo.HasNextPage {
			t.Fatalf("first page of one: got %+v", page.UserOverrides)
		}
		after := *page.UserOverrides.PageInfo.EndCursor
		page.UserOverrides.Nodes = nil
		mustGQL(t, h, ann.Token, paged, map[string]any{"after": after}, &page)
		if n := page.UserOverrides.Nodes; len(n) != 1 || n[0].ID != add.ID || page.UserOverrides.PageInfo.HasNextPage {
			t.Errorf("second page of one: got %+v, want the add override and no more", page.UserOverrides)
		}
	})

	t.Run("temporary schedule", func(t *testing.T) {
		day := now.Add(24 * time.Hour)
		mustGQL(t, h, ann.Token, `mutation($in: SetTemporaryScheduleInput!) { setTemporarySchedule(input: $in) }`, map[string]any{"in": map[string]any{
			"scheduleID": sched, "start": rfc(day), "end": rfc(day.Add(8 * time.Hour)),
			"shifts": []map[string]any{{"userID": carol, "start": rfc(day), "end": rfc(day.Add(4 * time.Hour))}}}}, nil)
		var out struct {
			Schedule struct {
				TemporarySchedules []struct {
					Start, End string
					Shifts     []gqlShift
				}
			}
		}
		const read = `query($id: ID!) { schedule(id: $id) { temporarySchedules { start end shifts { userID user { name } start end truncated } } } }`
		mustGQL(t, h, ann.Token, read, map[string]any{"id": sched}, &out)
		tmp := out.Schedule.TemporarySchedules
		if len(tmp) != 1 || tmp[0].Start != rfc(day) || tmp[0].End != rfc(day.Add(8*time.Hour)) || len(tmp[0].Shifts) != 1 ||
			tmp[0].Shifts[0].UserID != carol || tmp[0].Shifts[0].User == nil || tmp[0].Shifts[0].User.Name != "Carol" {
			t.Fatalf("temporarySchedules: got %+v, want one of 8 hours with carol's 4", tmp)
		}
		// Only carol, then nobody, while it lasts; ann around it.
		got := shiftLines(readShifts(t, h, ann.Token, sched, day.Add(-time.Hour), day.Add(9*time.Hour)))
		want := []shiftLine{
			{"Ann", rfc(day.Add(-time.Hour)), rfc(day), false},
			{"Carol", rfc(day), rfc(day.Add(4 * time.Hour)), false},
			{"Ann", rfc(day.Add(8 * time.Hour)), rfc(day.Add(9 * time.Hour)), true},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("shifts around the temporary schedule (-want +got):\n%s", d)
		}
		_, errs := gql(t, h, ann.Token, `mutation($in: SetTemporaryScheduleInput!) { setTemporarySchedule(input: $in) }`, map[string]any{"in": map[string]any{
			"scheduleID": sched, "start": rfc(day), "end": rfc(day.Add(time.Hour)),
			"shifts": []map[string]any{{"userID": carol, "start": rfc(day), "end": rfc(day.Add(2 * time.Hour))}}}})
		wantGQLError(t, "a shift past the end of its temporary schedule", errs, "INVALID_INPUT_VALUE")

		mustGQL(t, h, ann.Token, `mutation($in: ClearTemporarySchedulesInput!) { clearTemporarySchedules(input: $in) }`,
			map[string]any{"in": map[string]any{"scheduleID": sched, "start": rfc(now), "end": rfc(day.Add(48 * time.Hour))}}, nil)
		out.Schedule.TemporarySchedules = nil
		mustGQL(t, h, ann.Token, read, map[string]any{"id": sched}, &out)
		if n := len(out.Schedule.TemporarySchedules); n != 0 {
			t.Errorf("temporarySchedules after clearTemporarySchedules: got %d, want none", n)
		}
	})

	t.Run("createSchedule with newUserOverrides", func(t *testing.T) {
		ov := func(start, end time.Duration, add string) map[string]any {
			return map[string]any{"start": rfc(now.Add(start)), "end": rfc(now.Add(end)), "addUserID": add}
		}
		in := map[string]any{"name": "Weekend", "timeZone": "UTC", "targets": []map[string]any{alwaysOn("user", ann.ID)},
			"newUserOverrides": []map[string]any{ov(time.Hour, 3*time.Hour, bob), ov(2*time.Hour, 4*time.Hour, bob)}}
		_, errs := gql(t, h, ann.Token, `mutation($in: CreateScheduleInput!) { createSchedule(input: $in) { id } }`, map[string]any{"in": in})
		wantGQLError(t, "createSchedule with overlapping new overrides", errs, "INVALID_INPUT_VALUE")
		// Nothing is left of the refused schedule: its name is free.
		in["newUserOverrides"] = []map[string]any{ov(time.Hour, 3*time.Hour, bob), ov(3*time.Hour, 4*time.Hour, bob)}
		id := createScheduleGQL(t, h, ann.Token, in)
		var out struct {
			UserOverrides struct{ Nodes []struct{ AddUserID string } }
		}
		mustGQL(t, h, ann.Token, `query($id: ID) { userOverrides(input: {scheduleID: $id}) { nodes { addUserID } } }`, map[string]any{"id": id}, &out)
		if n := out.UserOverrides.Nodes; len(n) != 2 || n[0].AddUserID != bob {
			t.Errorf("overrides of the new schedule: got %+v, want bob's two", n)
		}
	})

	t.Run("deleteAll", func(t *testing.T) {
		mustGQL(t, h, ann.Token, `mutation($id: ID!) { deleteAll(input: [{type: userOverride, id: $id}]) }`, map[string]any{"id": replace.ID}, nil)
		var got struct{ UserOverride *override }
		mustGQL(t, h, ann.Token, `query($id: ID!) { userOverride(id: $id) { `+fields+` } }`, map[string]any{"id": replace.ID}, &got)
		if got.UserOverride != nil {
			t.Errorf("userOverride after deleteAll: got %+v, want null", got.UserOverride)
		}
		mustGQL(t, h, ann.Token, `query($id: ID!) { userOverride(id: $id) { `+fields+` } }`, map[string]any{"id": add.ID}, &got)
		if got.UserOverride == nil || got.UserOverride.ID != add.ID {
			t.Errorf("the other override: got %+v, want it kept", got.UserOverride)
		}
		_, errs := gql(t, h, ann.Token, `mutation($id: ID!) { deleteAll(input: [{type: userOverride, id: $id}]) }`, map[string]any{"id": replace.ID})
		wantGQLError(t, "deleting the override again", errs, "NOT_FOUND")
	})
}

// A policy step targets a schedule built through GraphQL: the service's
// onCallUsers and the pages agree, before and during an override.
func TestGraphQL_ServiceOnCallUsers(t *testing.T) {
	env := newPagingEnv(t)
	h, admin := env.h, env.admin
	ann := env.pagedUser(t, "ann")
	bob := env.pagedUser(t, "bob")
	dave := createUser(t, h, "Dave", "dave", user.RoleUser)
	sched := createScheduleGQL(t, h, admin.Token, map[string]any{"name": "Front line", "timeZone": "UTC", "targets": []map[string]any{alwaysOn("user", ann)}})
	rot := createRotationGQL(t, h, admin.Token, map[string]any{"name": "Backstop", "timeZone": "UTC", "start": rfc(apptest.Start), "type": "weekly", "userIDs": []string{bob}})

	var svc struct {
		CreateService *struct {
			ID              string
			IntegrationKeys []struct{ ID string }
		}
	}
	mustGQL(t, h, admin.Token, `mutation($in: CreateServiceInput!) { createService(input: $in) { id integrationKeys { id } } }`, map[string]any{"in": map[string]any{
		"name": "Checkout", "newIntegrationKeys": []map[string]any{{"type": "generic", "name": "monitor"}},
		"newEscalationPolicy": map[string]any{"name": "Checkout policy", "steps": []map[string]any{
			{"delayMinutes": 30, "targets": []map[string]any{{"type": "schedule", "id": sched}}},
			{"delayMinutes": 30, "targets": []map[string]any{{"type": "user", "id": dave}, {"type": "rotation", "id": rot.ID}}},
		}}}}, &svc)
	key := svc.CreateService.IntegrationKeys[0].ID

	type onCall struct {
		UserID, UserName string
		StepNumber       int
	}
	readOnCall := func(t *testing.T) ([]onCall, []gqlStep) {
		t.Helper()
		var out struct {
			Service struct {
				OnCallUsers      []onCall
				EscalationPolicy struct{ Steps []gqlStep }
			}
		}
		mustGQL(t, h, admin.Token, `query($id: ID!) { service(id: $id) { onCallUsers { userID userName stepNumber }
			escalationPolicy { steps { id stepNumber delayMinutes actions { type args displayInfo { text } } targets { id type name } } } } }`,
			map[string]any{"id": svc.CreateService.ID}, &out)
		return out.Service.OnCallUsers, out.Service.EscalationPolicy.Steps
	}

	users, steps := readOnCall(t)
	want := []onCall{{ann, "ann", 0}, {bob, "bob", 1}, {dave, "Dave", 1}}
	if d := cmp.Diff(want, users); d != "" {
		t.Errorf("onCallUsers (-want +got):\n%s", d)
	}
	if tg := steps[0].Targets; len(tg) != 1 || tg[0].Type != "schedule" || tg[0].Name != "Front line" || steps[0].Actions[0].Info.Text != "Front line" {
		t.Errorf("first step: got targets %+v, actions %+v, want the schedule by name", tg, steps[0].Actions)
	}

	first := trigger(t, h, key, "card payments failing", "")
	env.idle(t)
	if got := env.pages("/ann"); !slices.Equal(got, []int64{first.AlertID}) {
		t.Fatalf("ann's pages: got %v, want [%d]", got, first.AlertID)
	}

	// Bob stands in for ann for an hour.
	h.Clock.Advance(5 * time.Minute)
	now := h.Clock.Now()
	mustGQL(t, h, admin.Token, `mutation($in: CreateUserOverrideInput!) { createUserOverride(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"scheduleID": sched, "start": rfc(now), "end": rfc(now.Add(time.Hour)), "addUserID": bob, "removeUserID": ann}}, nil)
	users, _ = readOnCall(t)
	want = []onCall{{bob, "bob", 0}, {bob, "bob", 1}, {dave, "Dave", 1}}
	if d := cmp.Diff(want, users); d != "" {
		t.Errorf("onCallUsers during the override (-want +got):\n%s", d)
	}
	second := trigger(t, h, key, "refunds failing", "")
	env.idle(t)
	if got := env.pages("/bob"); !slices.Equal(got, []int64{second.AlertID}) {
		t.Errorf("bob's pages during the override: got %v, want [%d]", got, second.AlertID)
	}
}

// onCallAt and shiftsAsOf answer about the past with the configuration of
// the past: later edits, even deleting the schedule, change nothing.
func TestGraphQL_OnCallAtTimeTravel(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	admin := newAccount(t, h, "Admin", "admin", user.RoleAdmin)
	ann := createUser(t, h, "Ann", "ann", user.RoleUser)
	bob := createUser(t, h, "Bob", "bob", user.RoleUser)
	carol := createUser(t, h, "Carol", "carol", user.RoleUser)
	t0 := apptest.Start
	rot := createRotationGQL(t, h, admin.Token, map[string]any{"name": "Daily", "timeZone": "UTC", "start": rfc(t0), "type": "daily", "userIDs": []string{ann, bob}})
	sched := createScheduleGQL(t, h, admin.Token, map[string]any{"name": "Follow the rotation", "timeZone": "UTC",
		"targets": []map[string]any{alwaysOn("rotation", rot.ID)}})

	h.Clock.Advance(36 * time.Hour) // ann's day, then half of bob's
	past := t0.Add(30 * time.Hour)
	window := [2]time.Time{t0, t0.Add(33 * time.Hour)}
	type answers struct {
		Schedule, Rotation []string
		Shifts             []shiftLine
	}
	ask := func(t *testing.T) answers {
		t.Helper()
		var out struct {
			S, R       []struct{ ID, Name string }
			ShiftsAsOf []gqlShift
		}
		mustGQL(t, h, admin.Token, `query($s: ID!, $r: ID!, $at: ISOTimestamp!, $from: ISOTimestamp!, $to: ISOTimestamp!) {
			s: onCallAt(scheduleID: $s, time: $at) { id name }
			r: onCallAt(rotationID: $r, time: $at) { id name }
			shiftsAsOf(scheduleID: $s, start: $from, end: $to) { userID user { name } start end truncated } }`,
			map[string]any{"s": sched, "r": rot.ID, "at": rfc(past), "from": rfc(window[0]), "to": rfc(window[1])}, &out)
		var a answers
		for _, u := range out.S {
			a.Schedule = append(a.Schedule, u.Name)
		}
		for _, u := range out.R {
			a.Rotation = append(a.Rotation, u.Name)
		}
		a.Shifts = shiftLines(out.ShiftsAsOf)
		return a
	}
	before := ask(t)
	want := answers{Schedule: []string{"Bob"}, Rotation: []string{"Bob"}, Shifts: []shiftLine{
		{"Ann", rfc(t0), rfc(t0.Add(24 * time.Hour)), false}, {"Bob", rfc(t0.Add(24 * time.Hour)), rfc(window[1]), true}}}
	if d := cmp.Diff(want, before); d != "" {
		t.Fatalf("the past before any change (-want +got):\n%s", d)
	}

	// Now bob leaves the rotation and carol joins the schedule for good.
	mustGQL(t, h, admin.Token, `mutation($id: ID!, $ann: ID!) { updateRotation(input: {id: $id, userIDs: [$ann]}) }`, map[string]any{"id": rot.ID, "ann": ann}, nil)
	mustGQL(t, h, admin.Token, `mutation($in: ScheduleTargetInput!) { updateScheduleTarget(input: $in) }`, map[string]any{"in": map[string]any{
		"scheduleID": sched, "target": map[string]any{"type": "user", "id": carol}, "rules": []map[string]any{{}}}}, nil)
	if d := cmp.Diff(before, ask(t)); d != "" {
		t.Errorf("the past changed after later edits (-before +after):\n%s", d)
	}
	var nowOut struct{ OnCallAt []struct{ Name string } }
	mustGQL(t, h, admin.Token, `query($s: ID!, $at: ISOTimestamp!) { onCallAt(scheduleID: $s, time: $at) { name } }`,
		map[string]any{"s": sched, "at": rfc(h.Clock.Now())}, &nowOut)
	if got := nowOut.OnCallAt; len(got) != 2 || !slices.ContainsFunc(got, func(u struct{ Name string }) bool { return u.Name == "Carol" }) {
		t.Errorf("on call now: got %+v, want ann and carol", got)
	}

	mustGQL(t, h, admin.Token, `mutation($id: ID!) { deleteAll(input: [{type: schedule, id: $id}]) }`, map[string]any{"id": sched}, nil)
	if d := cmp.Diff(before, ask(t)); d != "" {
		t.Errorf("the past changed after deleting the schedule (-before +after):\n%s", d)
	}

	const at = `query($s: ID, $r: ID) { onCallAt(scheduleID: $s, rotationID: $r, time: "2026-03-07T12:00:00Z") { id } }`
	_, errs := gql(t, h, admin.Token, at, map[string]any{"s": sched, "r": rot.ID})
	wantGQLError(t, "onCallAt with a schedule and a rotation", errs, "INVALID_INPUT_VALUE")
	_, errs = gql(t, h, admin.Token, at, nil)
	wantGQLError(t, "onCallAt with neither", errs, "INVALID_INPUT_VALUE")
	_, errs = gql(t, h, admin.Token, at, map[string]any{"s": uuid.NewString()})
	wantGQLError(t, "onCallAt of a schedule that never existed", errs, "NOT_FOUND")
}

func TestGraphQL_CalendarSubscriptions(t *testing.T) {
	t.Parallel()
	h := apptest.New(t, apptest.PublicURL())
	admin := newAccount(t, h, "Admin", "admin", user.RoleAdmin)
	ann := newAccount(t, h, "Ann", "ann", user.RoleUser)
	bob := newAccount(t, h, "Bob", "bob", user.RoleUser)
	sched := createScheduleGQL(t, h, ann.Token, map[string]any{"name": "Weekdays", "timeZone": "UTC", "targets": []map[string]any{
		{"target": map[string]any{"type": "user", "id": ann.ID}, "rules": []map[string]any{{"start": "09:00", "end": "17:00",
			"weekdayFilter": []bool{false, true, true, true, true, true, false}}}}}})

	type sub struct {
		ID, Name, ScheduleID string
		ReminderMinutes      []int
		FullSchedule         bool
		Disabled             bool
		URL                  *string
		Schedule             *struct{ Name string }
	}
	const fields = `id name scheduleID reminderMinutes fullSchedule disabled url schedule { name }`
	const create = `mutation($in: CreateUserCalendarSubscriptionInput!) { createUserCalendarSubscription(input: $in) { ` + fields + ` } }`
	var out struct{ CreateUserCalendarSubscription sub }
	mustGQL(t, h, ann.Token, create, map[string]any{"in": map[string]any{"name": "Work phone", "reminderMinutes": []int{60, 10}, "scheduleID": sched}}, &out)
	s := out.CreateUserCalendarSubscription
	if s.Name != "Work phone" || s.ScheduleID != sched || !slices.Equal(s.ReminderMinutes, []int{10, 60}) || s.Disabled || s.FullSchedule ||
		s.Schedule == nil || s.Schedule.Name != "Weekdays" || s.URL == nil || !strings.HasPrefix(*s.URL, h.URL+"/api/v2/calendar?token=") {
		t.Fatalf("createUserCalendarSubscription: got %+v, want Work phone on Weekdays with a feed url at %s", s, h.URL)
	}
	feed := *s.URL
	r := send(t, newRequest(t, http.MethodGet, feed, nil))
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/calendar") || !strings.Contains(r.Body, "BEGIN:VEVENT") {
		t.Fatalf("the feed: got %s (%s), want 200 text/calendar with events", r, r.Header.Get("Content-Type"))
	}

	t.Run("read by its owner and admins only", func(t *testing.T) {
		var mine struct {
			User struct{ CalendarSubscriptions []sub }
		}
		mustGQL(t, h, ann.Token, `{ user { calendarSubscriptions { `+fields+` } } }`, nil, &mine)
		if got := mine.User.CalendarSubscriptions; len(got) != 1 || got[0].ID != s.ID || got[0].URL != nil {
			t.Errorf("user.calendarSubscriptions: got %+v, want the one, without its url", got)
		}
		const one = `query($id: ID!) { userCalendarSubscription(id: $id) { ` + fields + ` } }`
		var got struct{ UserCalendarSubscription *sub }
		mustGQL(t, h, admin.Token, one, map[string]any{"id": s.ID}, &got)
		if got.UserCalendarSubscription == nil || got.UserCalendarSubscription.Name != "Work phone" || got.UserCalendarSubscription.URL != nil {
			t.Errorf("userCalendarSubscription as an admin: got %+v, want Work phone without url", got.UserCalendarSubscription)
		}
		_, errs := gql(t, h, bob.Token, one, map[string]any{"id": s.ID})
		wantGQLError(t, "userCalendarSubscription of another user", errs, "FORBIDDEN")
		_, errs = gql(t, h, bob.Token, `query($id: ID) { user(id: $id) { calendarSubscriptions { id } } }`, map[string]any{"id": ann.ID})
		wantGQLError(t, "another user's calendarSubscriptions", errs, "FORBIDDEN")
		_, errs = gql(t, h, bob.Token, `mutation($id: ID!) { deleteAll(input: [{type: calendarSubscription, id: $id}]) }`, map[string]any{"id": s.ID})
		wantGQLError(t, "deleting another user's subscription", errs, "FORBIDDEN")
	})

	t.Run("bad input", func(t *testing.T) {
		for what, in := range map[string]map[string]any{
			"disabled":             {"name": "Off", "scheduleID": sched, "disabled": true},
			"an unknown schedule":  {"name": "Nowhere", "scheduleID": uuid.NewString()},
			"a reminder of 8 days": {"name": "Early", "scheduleID": sched, "reminderMinutes": []int{8 * 24 * 60}},
			"no name":              {"name": " ", "scheduleID": sched},
		} {
			_, errs := gql(t, h, ann.Token, create, map[string]any{"in": in})
			wantGQLError(t, "createUserCalendarSubscription "+what, errs, "INVALID_INPUT_VALUE")
		}
	})

	t.Run("not while an admin disables them", func(t *testing.T) {
		setConfig(t, h, admin.Token, "General.DisableCalendarSubscriptions", "true")
		_, errs := gql(t, h, ann.Token, create, map[string]any{"in": map[string]any{"name": "Tablet", "scheduleID": sched}})
		wantGQLError(t, "createUserCalendarSubscription while disabled", errs, "FORBIDDEN")
		setConfig(t, h, admin.Token, "General.DisableCalendarSubscriptions", "false")
	})

	t.Run("deleteAll revokes the feed", func(t *testing.T) {
		mustGQL(t, h, ann.Token, `mutation($id: ID!) { deleteAll(input: [{type: calendarSubscription, id: $id}]) }`, map[string]any{"id": s.ID}, nil)
		if r := send(t, newRequest(t, http.MethodGet, feed, nil)); r.Status != http.StatusNotFound {
			t.Errorf("the feed after deleteAll: got %s, want 404", r)
		}
		var got struct{ UserCalendarSubscription *sub }
		mustGQL(t, h, ann.Token, `query($id: ID!) { userCalendarSubscription(id: $id) { id } }`, map[string]any{"id": s.ID}, &got)
		if got.UserCalendarSubscription != nil {
			t.Errorf("userCalendarSubscription after deleteAll: got %+v, want null", got.UserCalendarSubscription)
		}
	})
}

func TestGraphQL_OnCallNotificationRules(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	sink := webhooktest.NewServer(t)
	admin := newAccount(t, h, "Admin", "admin", user.RoleAdmin)
	setConfig(t, h, admin.Token, "Webhook.Enable", "true")
	sched := createScheduleGQL(t, h, admin.Token, map[string]any{"name": "Primary", "timeZone": "UTC", "targets": []map[string]any{alwaysOn("user", admin.ID)}})
	daily, changes := sink.URL+"/daily", sink.URL+"/changes"

	type rule struct {
		ID     string
		Target struct{ ID, Type string }
		Dest   struct {
			Type string
			Args map[string]string
		}
		Time          *string
		WeekdayFilter []bool
	}
	read := func(t *testing.T) []rule {
		t.Helper()
		var out struct {
			Schedule struct{ OnCallNotificationRules []rule }
		}
		mustGQL(t, h, admin.Token, `query($id: ID!) { schedule(id: $id) { onCallNotificationRules { id target { id type } dest { type args } time weekdayFilter } } }`,
			map[string]any{"id": sched}, &out)
		slices.SortFunc(out.Schedule.OnCallNotificationRules, func(a, b rule) int { return strings.Compare(a.Target.ID, b.Target.ID) })
		return out.Schedule.OnCallNotificationRules
	}
	const set = `mutation($in: SetScheduleOnCallNotificationRulesInput!) { setScheduleOnCallNotificationRules(input: $in) }`
	weekdays := []bool{false, true, true, true, true, true, false}
	mustGQL(t, h, admin.Token, set, map[string]any{"in": map[string]any{"scheduleID": sched, "rules": []map[string]any{
		{"dest": map[string]any{"type": "builtin-webhook", "args": map[string]string{"webhook_url": daily}}, "time": "09:00", "weekdayFilter": weekdays},
		{"target": map[string]any{"type": "chanWebhook", "id": changes}},
	}}}, nil)
	got := read(t)
	if len(got) != 2 || got[0].Target.ID != changes || got[0].Target.Type != "chanWebhook" || got[0].Time != nil || got[0].WeekdayFilter != nil ||
		got[1].Dest.Type != "builtin-webhook" || got[1].Dest.Args["webhook_url"] != daily || got[1].Time == nil || *got[1].Time != "09:00" ||
		!slices.Equal(got[1].WeekdayFilter, weekdays) {
		t.Fatalf("onCallNotificationRules: got %+v, want one on every change and one at 09:00 on weekdays", got)
	}

	// Keep the daily rule, at a new time; the other is left out and goes.
	mustGQL(t, h, admin.Token, set, map[string]any{"in": map[string]any{"scheduleID": sched, "rules": []map[string]any{
		{"id": got[1].ID, "target": map[string]any{"type": "chanWebhook", "id": daily}, "time": "17:30"},
	}}}, nil)
	after := read(t)
	if len(after) != 1 || after[0].ID != got[1].ID || after[0].Time == nil || *after[0].Time != "17:30" || !slices.Equal(after[0].WeekdayFilter, []bool{true, true, true, true, true, true, true}) {
		t.Errorf("after setting one rule: got %+v, want the daily rule at 17:30 every day", after)
	}

	for what, r := range map[string]map[string]any{
		"an id of no rule here":            {"id": uuid.NewString(), "target": map[string]any{"type": "chanWebhook", "id": daily}},
		"a user as the target":             {"target": map[string]any{"type": "user", "id": admin.ID}},
		"a Slack channel with Slack off":   {"target": map[string]any{"type": "slackChannel", "id": "C0123"}},
		"a webhook that is not http":       {"dest": map[string]any{"type": "builtin-webhook", "args": map[string]string{"webhook_url": "ftp://x"}}},
		"neither a destination nor target": {"time": "09:00"},
	} {
		_, errs := gql(t, h, admin.Token, set, map[string]any{"in": map[string]any{"scheduleID": sched, "rules": []map[string]any{r}}})
		wantGQLError(t, "setScheduleOnCallNotificationRules with "+what, errs, "INVALID_INPUT_VALUE")
	}
	if got := read(t); len(got) != 1 || got[0].ID != after[0].ID {
		t.Errorf("after refused changes: got %+v, want the daily rule alone", got)
	}
	_, errs := gql(t, h, admin.Token, set, map[string]any{"in": map[string]any{"scheduleID": uuid.NewString(), "rules": []any{}}})
	wantGQLError(t, "setScheduleOnCallNotificationRules of an unknown schedule", errs, "NOT_FOUND")
}

package schedule

import (
	"testing"
	"time"
)

// TestRule_Shifts checks rule windows through a schedule with one user
// target. Expected times are in UTC; "+" marks a truncated shift.
func TestRule_Shifts(t *testing.T) {
	always := Always()
	tests := []struct {
		name     string
		zone     *time.Location
		rules    []Rule
		from, to time.Time
		want     []Shift
	}{
		{
			name:  "Chicago 09:00-17:00 weekdays across spring forward",
			zone:  chicago,
			rules: []Rule{rule("09:00", "17:00", weekdays)},
			from:  local(chicago, "2024-03-08 00:00"), to: local(chicago, "2024-03-13 00:00"),
			want: []Shift{
				sh("u", "2024-03-08 15:00", "2024-03-08 23:00"),
				sh("u", "2024-03-11 14:00", "2024-03-11 22:00"),
				sh("u", "2024-03-12 14:00", "2024-03-12 22:00"),
			},
		},
		{
			name:  "Chicago 09:00-17:00 weekdays across fall back",
			zone:  chicago,
			rules: []Rule{rule("09:00", "17:00", weekdays)},
			from:  local(chicago, "2024-11-01 00:00"), to: local(chicago, "2024-11-05 00:00"),
			want: []Shift{
				sh("u", "2024-11-01 14:00", "2024-11-01 22:00"),
				sh("u", "2024-11-04 15:00", "2024-11-04 23:00"),
			},
		},
		{
			name:  "London 09:00-17:00 weekdays across BST start",
			zone:  london,
			rules: []Rule{rule("09:00", "17:00", weekdays)},
			from:  local(london, "2024-03-29 00:00"), to: local(london, "2024-04-02 00:00"),
			want: []Shift{
				sh("u", "2024-03-29 09:00", "2024-03-29 17:00"),
				sh("u", "2024-04-01 08:00", "2024-04-01 16:00"),
			},
		},
		{
			name:  "London 09:00-17:00 weekdays across BST end",
			zone:  london,
			rules: []Rule{rule("09:00", "17:00", weekdays)},
			from:  local(london, "2024-10-25 00:00"), to: local(london, "2024-10-29 00:00"),
			want: []Shift{
				sh("u", "2024-10-25 08:00", "2024-10-25 16:00"),
				sh("u", "2024-10-28 09:00", "2024-10-28 17:00"),
			},
		},
		{
			name:  "Sydney 09:00-17:00 weekdays across AEDT start",
			zone:  sydney,
			rules: []Rule{rule("09:00", "17:00", weekdays)},
			from:  local(sydney, "2024-10-04 00:00"), to: local(sydney, "2024-10-08 00:00"),
			want: []Shift{
				sh("u", "2024-10-03 23:00", "2024-10-04 07:00"),
				sh("u", "2024-10-06 22:00", "2024-10-07 06:00"),
			},
		},
		{
			name:  "Sydney 09:00-17:00 weekdays across AEDT end",
			zone:  sydney,
			rules: []Rule{rule("09:00", "17:00", weekdays)},
			from:  local(sydney, "2024-04-05 00:00"), to: local(sydney, "2024-04-09 00:00"),
			want: []Shift{
				sh("u", "2024-04-04 22:00", "2024-04-05 06:00"),
				sh("u", "2024-04-07 23:00", "2024-04-08 07:00"),
			},
		},
		{
			name:  "London overnight 22:00-06:00 across BST start",
			zone:  london,
			rules: []Rule{rule("22:00", "06:00", always.Weekdays)},
			from:  local(london, "2024-03-30 00:00"), to: local(london, "2024-04-01 00:00"),
			want: []Shift{
				sh("u", "2024-03-30 00:00", "2024-03-30 06:00"),
				sh("u", "2024-03-30 22:00", "2024-03-31 05:00"),
				sh("u", "2024-03-31 21:00", "2024-03-31 23:00+"),
			},
		},
		{
			name:  "Chicago overnight Saturday 23:00-03:00 across fall back lasts five hours",
			zone:  chicago,
			rules: []Rule{rule("23:00", "03:00", days(time.Saturday))},
			from:  local(chicago, "2024-11-02 00:00"), to: local(chicago, "2024-11-04 00:00"),
			want: []Shift{sh("u", "2024-11-03 04:00", "2024-11-03 09:00")},
		},
		{
			name:  "Chicago 24-hour Sunday on the spring-forward day lasts 23 hours",
			zone:  chicago,
			rules: []Rule{rule("00:00", "00:00", days(time.Sunday))},
			from:  local(chicago, "2024-03-09 00:00"), to: local(chicago, "2024-03-12 00:00"),
			want: []Shift{sh("u", "2024-03-10 06:00", "2024-03-11 05:00")},
		},
		{
			name:  "Chicago 24-hour Sunday on the fall-back day lasts 25 hours",
			zone:  chicago,
			rules: []Rule{rule("00:00", "00:00", days(time.Sunday))},
			from:  local(chicago, "2024-11-02 00:00"), to: local(chicago, "2024-11-05 00:00"),
			want: []Shift{sh("u", "2024-11-03 05:00", "2024-11-04 06:00")},
		},
		{
			name:  "Sydney 24-hour Sunday on the spring-forward day lasts 23 hours",
			zone:  sydney,
			rules: []Rule{rule("00:00", "00:00", days(time.Sunday))},
			from:  local(sydney, "2024-10-05 00:00"), to: local(sydney, "2024-10-08 00:00"),
			want: []Shift{sh("u", "2024-10-05 14:00", "2024-10-06 13:00")},
		},
		{
			name:  "Sydney 24-hour Sunday on the fall-back day lasts 25 hours",
			zone:  sydney,
			rules: []Rule{rule("00:00", "00:00", days(time.Sunday))},
			from:  local(sydney, "2024-04-06 00:00"), to: local(sydney, "2024-04-09 00:00"),
			want: []Shift{sh("u", "2024-04-06 13:00", "2024-04-07 14:00")},
		},
		{
			name:  "London 24-hour days merge across the BST start",
			zone:  london,
			rules: []Rule{rule("12:00", "12:00", days(time.Saturday, time.Sunday))},
			from:  local(london, "2024-03-29 00:00"), to: local(london, "2024-04-02 00:00"),
			want: []Shift{sh("u", "2024-03-30 12:00", "2024-04-01 11:00")},
		},
		{
			name:  "a start the clock skips is the end of the gap",
			zone:  chicago,
			rules: []Rule{rule("02:30", "03:30", always.Weekdays)},
			from:  local(chicago, "2024-03-10 00:00"), to: local(chicago, "2024-03-11 00:00"),
			want: []Shift{sh("u", "2024-03-10 08:00", "2024-03-10 08:30")},
		},
		{
			name:  "a rule entirely inside the skipped hour is empty that day",
			zone:  chicago,
			rules: []Rule{rule("02:00", "02:30", always.Weekdays)},
			from:  local(chicago, "2024-03-10 00:00"), to: local(chicago, "2024-03-11 00:00"),
		},
		{
			name:  "a repeated start is its first occurrence",
			zone:  chicago,
			rules: []Rule{rule("01:30", "02:00", always.Weekdays)},
			from:  local(chicago, "2024-11-03 00:00"), to: local(chicago, "2024-11-03 12:00"),
			want: []Shift{sh("u", "2024-11-03 06:30", "2024-11-03 08:00")},
		},
		{
			name:  "the weekday is the day the shift starts",
			zone:  time.UTC,
			rules: []Rule{rule("22:00", "02:00", days(time.Friday))},
			from:  utc("2024-01-06 01:00"), to: utc("2024-01-08 00:00"),
			want: []Shift{sh("u", "2024-01-06 01:00", "2024-01-06 02:00")},
		},
		{
			name:  "start equal to end on consecutive days is one shift; ending at the window end is not truncated",
			zone:  time.UTC,
			rules: []Rule{rule("00:00", "00:00", days(time.Monday, time.Tuesday))},
			from:  utc("2024-01-07 00:00"), to: utc("2024-01-10 00:00"),
			want: []Shift{sh("u", "2024-01-08 00:00", "2024-01-10 00:00")},
		},
		{
			name:  "overlapping rules of one target merge",
			zone:  time.UTC,
			rules: []Rule{rule("09:00", "13:00", weekdays), rule("12:00", "18:00", days(time.Monday))},
			from:  utc("2024-01-08 00:00"), to: utc("2024-01-10 00:00"),
			want: []Shift{
				sh("u", "2024-01-08 09:00", "2024-01-08 18:00"),
				sh("u", "2024-01-09 09:00", "2024-01-09 13:00"),
			},
		},
		{
			name:  "always on is one truncated shift",
			zone:  sydney,
			rules: []Rule{Always()},
			from:  utc("2024-01-01 00:00"), to: utc("2025-01-01 00:00"),
			want: []Shift{sh("u", "2024-01-01 00:00", "2025-01-01 00:00+")},
		},
		{
			name:  "no weekday is never",
			zone:  time.UTC,
			rules: []Rule{rule("09:00", "17:00", [7]bool{})},
			from:  utc("2024-01-01 00:00"), to: utc("2024-02-01 00:00"),
		},
		{
			name: "no rules is never",
			zone: time.UTC,
			from: utc("2024-01-01 00:00"), to: utc("2024-02-01 00:00"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := Spec{Zone: tt.zone, Targets: []Target{{Kind: TargetUser, ID: "u", Rules: tt.rules}}}
			got := spec.Shifts(tt.from, tt.to, nil)
			if fmtShifts(got) != fmtShifts(tt.want) {
				t.Errorf("Shifts(%s, %s)\ngot:%s\nwant:%s", tt.from, tt.to, fmtShifts(got), fmtShifts(tt.want))
			}
		})
	}
}

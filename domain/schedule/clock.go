package schedule

import (
	"fmt"
	"strings"

	"github.com/oncallhq/goalert/domain"
)

// Clock is a time of day on the wall clock, in minutes after midnight: 0
// (00:00) to 1439 (23:59).
type Clock int

// NewClock returns the time of day hour:minute.
func NewClock(hour, minute int) Clock { return Clock(hour*60 + minute) }

// ParseClock parses a time of day as "HH:MM" (the hour may have one digit).
// A seconds part, "HH:MM:SS", is accepted and dropped, as GoAlert does.
func ParseClock(s string) (Clock, error) {
	h, m, sec, ok := splitClock(s)
	if !ok || h > 23 || m > 59 || sec > 59 {
		return 0, domain.Invalid("invalid_time_of_day", fmt.Sprintf("%q is not a time of day (want HH:MM, 00:00 to 23:59)", s))
	}
	return NewClock(h, m), nil
}

func splitClock(s string) (h, m, sec int, ok bool) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || len(parts[0]) > 2 {
		return 0, 0, 0, false
	}
	var nums [3]int
	for i, p := range parts {
		if p == "" || (i > 0 && len(p) != 2) {
			return 0, 0, 0, false
		}
		for _, c := range []byte(p) {
			if c < '0' || c > '9' {
				return 0, 0, 0, false
			}
			nums[i] = nums[i]*10 + int(c-'0')
		}
	}
	return nums[0], nums[1], nums[2], true
}

// Hour returns the hour of c, 0 to 23.
func (c Clock) Hour() int { return int(c) / 60 }

// Minute returns the minute of c, 0 to 59.
func (c Clock) Minute() int { return int(c) % 60 }

// String formats c as "HH:MM".
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.Hour(), c.Minute()) }

// valid reports whether c is a time of day.
func (c Clock) valid() bool { return c >= 0 && c < 24*60 }

// MarshalText formats c as "HH:MM".
func (c Clock) MarshalText() ([]byte, error) {
	if !c.valid() {
		return nil, fmt.Errorf("schedule: clock value %d out of range", int(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText parses "HH:MM" as ParseClock does.
func (c *Clock) UnmarshalText(b []byte) error {
	v, err := ParseClock(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

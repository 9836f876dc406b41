package schedule

import (
	"encoding/json"
	"testing"

	"github.com/oncallhq/goalert/domain"
)

func TestParseClock(t *testing.T) {
	tests := []struct {
		in   string
		want Clock
		str  string
		bad  bool
	}{
		{in: "00:00", want: 0, str: "00:00"},
		{in: "09:00", want: 540, str: "09:00"},
		{in: "9:05", want: 545, str: "09:05"},
		{in: "23:59", want: 1439, str: "23:59"},
		{in: "12:30:45", want: 750, str: "12:30"},
		{in: "24:00", bad: true},
		{in: "12:60", bad: true},
		{in: "12:00:60", bad: true},
		{in: "12:5", bad: true},
		{in: "1200", bad: true},
		{in: "", bad: true},
		{in: "ab:cd", bad: true},
		{in: "-1:00", bad: true},
		{in: "123:00", bad: true},
		{in: "12:00:00:00", bad: true},
		{in: " 12:00", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseClock(tt.in)
			if tt.bad {
				if domain.KindOf(err) != domain.KindInvalid {
					t.Errorf("ParseClock(%q) = %v, %v; want an invalid error", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseClock(%q) = %v, %v; want %d", tt.in, int(got), err, int(tt.want))
			}
			if got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
		})
	}
}

func TestClock_JSON(t *testing.T) {
	r := Rule{Start: NewClock(22, 0), End: NewClock(6, 30)}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Start":"22:00","End":"06:30","Weekdays":[false,false,false,false,false,false,false]}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	var back Rule
	if err := json.Unmarshal(b, &back); err != nil || back != r {
		t.Errorf("round trip = %+v, %v; want %+v", back, err, r)
	}
}

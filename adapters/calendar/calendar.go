// Package calendar renders on-call shifts as an iCalendar feed (RFC 5545),
// the body of a calendar subscription's URL.
package calendar

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// ContentType is the media type of a feed.
const ContentType = "text/calendar; charset=utf-8"

// Shift is one event of a feed.
type Shift struct {
	ScheduleID   string
	ScheduleName string
	UserID       string
	// UserName is shown in the event's summary of a full-schedule feed.
	UserName   string
	Start, End time.Time
}

// Feed is a calendar to render.
type Feed struct {
	// Name is the calendar's display name (X-WR-CALNAME).
	Name string
	// AppName is General.ApplicationName ("GoAlert" when empty).
	AppName string
	// Generated is when the feed was made (each event's DTSTAMP).
	Generated time.Time
	// ReminderMinutes become one alarm each, that many minutes before a
	// shift starts.
	ReminderMinutes []int
	// FullSchedule names the user on call in each summary, for a feed of
	// everyone's shifts.
	FullSchedule bool
	Shifts       []Shift
}

// Render writes f as an iCalendar object: CRLF line ends, lines folded at
// 75 octets, text escaped, times in UTC, one VEVENT per shift with a UID
// that stays the same as long as the shift does.
func Render(w io.Writer, f Feed) error {
	app := f.AppName
	if app == "" {
		app = "GoAlert"
	}
	bw := bufio.NewWriter(w)
	l := lines{w: bw}
	l.prop("BEGIN", "VCALENDAR")
	l.prop("VERSION", "2.0")
	l.prop("PRODID", "-//"+escape(app)+"//On-Call Schedule//EN")
	l.prop("CALSCALE", "GREGORIAN")
	l.prop("METHOD", "PUBLISH")
	if f.Name != "" {
		l.prop("X-WR-CALNAME", escape(f.Name))
	}
	stamp := stamp(f.Generated)
	for _, sh := range f.Shifts {
		summary := fmt.Sprintf("On-Call (%s: %s)", app, sh.ScheduleName)
		if f.FullSchedule {
			summary = fmt.Sprintf("%s on-call (%s: %s)", sh.UserName, app, sh.ScheduleName)
		}
		l.prop("BEGIN", "VEVENT")
		l.prop("UID", uid(sh))
		l.prop("DTSTAMP", stamp)
		l.prop("DTSTART", formatTime(sh.Start))
		l.prop("DTEND", formatTime(sh.End))
		l.prop("SUMMARY", escape(summary))
		l.prop("DESCRIPTION", escape(fmt.Sprintf("On call on schedule %s from %s until %s.", sh.ScheduleName,
			sh.Start.UTC().Format(time.RFC1123), sh.End.UTC().Format(time.RFC1123))))
		l.prop("TRANSP", "TRANSPARENT")
		for _, m := range f.ReminderMinutes {
			l.prop("BEGIN", "VALARM")
			l.prop("ACTION", "DISPLAY")
			l.prop("DESCRIPTION", escape(summary))
			l.prop("TRIGGER", fmt.Sprintf("-PT%dM", m))
			l.prop("END", "VALARM")
		}
		l.prop("END", "VEVENT")
	}
	l.prop("END", "VCALENDAR")
	if l.err != nil {
		return fmt.Errorf("render calendar: %w", l.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("render calendar: %w", err)
	}
	return nil
}

func formatTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

func stamp(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return formatTime(t)
}

// uid names a shift by what it is, so that a calendar client updates it in
// place when the feed is fetched again.
func uid(sh Shift) string {
	sum := sha256.Sum256([]byte(sh.ScheduleID + "\x00" + sh.UserID + "\x00" + sh.Start.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(sum[:16]) + "@goalert"
}

// escape escapes TEXT values (RFC 5545 §3.3.11).
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(s)
}

// lines writes content lines, folded at 75 octets without splitting a
// UTF-8 sequence (RFC 5545 §3.1).
type lines struct {
	w   *bufio.Writer
	err error
}

func (l *lines) prop(name, value string) {
	if l.err != nil {
		return
	}
	line := name + ":" + value
	const limit = 75
	first := true
	for len(line) > 0 {
		max := limit
		if !first {
			max-- // the leading space counts
		}
		n := len(line)
		if n > max {
			n = max
			for n > 0 && !utf8.RuneStart(line[n]) {
				n--
			}
		}
		if !first {
			l.write(" ")
		}
		l.write(line[:n])
		l.write("\r\n")
		line, first = line[n:], false
	}
}

func (l *lines) write(s string) {
	if l.err == nil {
		_, l.err = l.w.WriteString(s)
	}
}

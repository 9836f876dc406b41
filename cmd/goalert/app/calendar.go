package app

import (
	"bytes"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/oncallhq/goalert/adapters/calendar"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/projections/oncall"
)

// calendarAhead is how far ahead a calendar feed shows shifts.
const calendarAhead = 365 * 24 * time.Hour

var errCalendarDisabled = domain.Forbidden("calendar_subscriptions_disabled", "calendar subscriptions are disabled")

// calendarRoutes serves GET /api/v2/calendar?token=…: the iCal feed of a
// calendar subscription, authenticated by its token alone. An unknown or
// revoked token is 404; with General.DisableCalendarSubscriptions every
// feed is 403.
func (a *App) calendarRoutes(e *echo.Echo) {
	e.GET("/api/v2/calendar", a.serveCalendar)
}

func (a *App) serveCalendar(c echo.Context) error {
	cfg := a.settings.Current()
	if cfg.Bool("General.DisableCalendarSubscriptions") {
		return errCalendarDisabled
	}
	ctx := c.Request().Context()
	token := c.QueryParam("token")
	if token == "" {
		return schedule.ErrSubscriptionNotFound
	}
	sub, err := a.Commands.CalendarSubscriptionByToken(ctx, token)
	if err != nil {
		return err
	}
	now := a.cfg.Clock.Now()
	shifts, err := oncall.Reader{Pool: a.Pool}.UserShifts(ctx, sub.UserID, sub.ScheduleID, sub.FullSchedule, now, now.Add(calendarAhead))
	if err != nil {
		return err
	}
	feed := calendar.Feed{Name: sub.Name, AppName: cfg.String("General.ApplicationName"), Generated: now,
		ReminderMinutes: sub.ReminderMinutes, FullSchedule: sub.FullSchedule}
	names := map[string]string{}
	for _, sh := range shifts {
		name, ok := names[sh.UserID]
		if !ok && sub.FullSchedule {
			if u, err := a.Users.ByID(ctx, sh.UserID); err == nil {
				name = u.Name
			}
			names[sh.UserID] = name
		}
		feed.Shifts = append(feed.Shifts, calendar.Shift{ScheduleID: sh.ScheduleID, ScheduleName: sh.ScheduleName,
			UserID: sh.UserID, UserName: name, Start: sh.Start, End: sh.End})
	}
	var body bytes.Buffer
	if err := calendar.Render(&body, feed); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, calendar.ContentType, body.Bytes())
}

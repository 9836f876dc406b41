package ingest

import "strings"

// site24x7Body holds the Site24x7 webhook fields this package uses; the
// others (MONITORTYPE, INCIDENT_REASON...) are ignored.
type site24x7Body struct {
	MonitorName   string `json:"MONITORNAME"`
	Status        string `json:"STATUS"`
	DashboardLink string `json:"MONITOR_DASHBOARD_LINK"`
}

// Site24x7 parses a Site24x7 webhook, POST /api/v2/site24x7/incoming.
//
// The fields MONITORNAME, STATUS and MONITOR_DASHBOARD_LINK come from the
// form when the Content-Type is a urlencoded or multipart form, else from
// the JSON body whatever the Content-Type.
//
// STATUS DOWN, CRITICAL or TROUBLE triggers and UP closes, in any letter
// case. Any other status (MAINTENANCE, DISCOVERY, SUSPENDED...) or a missing
// one is a *ParseError, as in GoAlert: there is no alert action for it, and
// a 4xx tells the sender not to retry.
//
// The summary is MONITORNAME; the details name the monitor and its dashboard
// link. They leave out the status and the incident reason on purpose: without
// a dedup parameter the domain hashes summary and details, and the UP
// notification must hash like the DOWN one to close its alert. The dedup key
// is the dedup form or query parameter, "" when absent.
func Site24x7(in Input) (Request, error) {
	b, err := readSite24x7(in)
	if err != nil {
		return Request{}, err
	}
	action, err := site24x7Action(b.Status)
	if err != nil {
		return Request{}, err
	}
	return Request{
		Action:  action,
		Summary: foldSummary(b.MonitorName),
		Details: joinNonEmpty("\n", labelled("Monitor", b.MonitorName), labelled("Dashboard", b.DashboardLink)),
		Dedup:   in.value("dedup"),
	}, nil
}

// readSite24x7 reads the fields from the form or the JSON body.
func readSite24x7(in Input) (site24x7Body, error) {
	if in.isForm() {
		return site24x7Body{
			MonitorName:   in.value("MONITORNAME"),
			Status:        in.value("STATUS"),
			DashboardLink: in.value("MONITOR_DASHBOARD_LINK"),
		}, nil
	}
	var b site24x7Body
	err := decodeJSON(in.Body, &b)
	return b, err
}

// site24x7Action maps a Site24x7 status to an action.
func site24x7Action(status string) (Action, error) {
	switch strings.ToUpper(strings.TrimSpace(status)) {
	case "DOWN", "CRITICAL", "TROUBLE":
		return ActionTrigger, nil
	case "UP":
		return ActionClose, nil
	case "":
		return "", parseErrorf("STATUS is required (DOWN, CRITICAL, TROUBLE or UP)")
	}
	return "", parseErrorf("unknown STATUS %q (want DOWN, CRITICAL, TROUBLE or UP)", status)
}

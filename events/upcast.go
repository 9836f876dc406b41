package events

import (
	"bytes"
	"encoding/json"
	"errors"
)

// The upcasters of the product's events, one per schema version change,
// registered in registerAll. Each turns a stored payload of one version
// into the next version's shape; the registry chains them on read, so a
// replay of years-old events decodes them as the current type.

// upcastAlertTriggeredV1 adds integration_key_id, empty: a version 1
// alert.triggered did not record the key. It splices the field into the
// object rather than decoding and re-encoding it, because every v1 alert
// of a replay passes through here.
func upcastAlertTriggeredV1(old json.RawMessage) (json.RawMessage, error) {
	body := bytes.TrimSpace(old)
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		return nil, errors.New("alert.triggered v1: payload is not a JSON object")
	}
	rest := bytes.TrimSpace(body[1:])
	out := make([]byte, 0, len(body)+len(`"integration_key_id":"",`))
	out = append(out, `{"integration_key_id":""`...)
	if rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...), nil
}

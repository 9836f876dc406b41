package twiliotest

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oncallhq/goalert/adapters/twilio"
)

// Post plays Twilio calling our server: it posts form to target (a URL
// under publicURL, as our server gave it to Twilio, or a path), sending it
// to serverURL instead, signed with authToken over the public URL. It
// returns the answer's status and body.
func Post(t testing.TB, serverURL, publicURL, authToken, target string, form url.Values) (int, string) {
	t.Helper()
	post, signed, err := publicTarget(serverURL, publicURL, target)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, post, twilio.Sign(authToken, signed, form), form)
}

// PostBadSignature is Post with a signature under the wrong auth token.
func PostBadSignature(t testing.TB, serverURL, publicURL, target string, form url.Values) (int, string) {
	t.Helper()
	post, signed, err := publicTarget(serverURL, publicURL, target)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, post, twilio.Sign("not-the-auth-token", signed, form), form)
}

func do(t testing.TB, target, signature string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("twiliotest: build request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(twilio.SignatureHeader, signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("twiliotest: post %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("twiliotest: read answer of %s: %v", target, err)
	}
	return resp.StatusCode, string(body)
}

// SendSMS delivers an inbound SMS from the number from to our number to,
// as Twilio does, and returns the TwiML answer. The test fails unless the
// answer is 200.
func SendSMS(t testing.TB, serverURL, publicURL, authToken, from, to, body string) string {
	t.Helper()
	form := url.Values{
		"MessageSid": {newSID("SM")}, "AccountSid": {AccountSID}, "From": {from}, "To": {to},
		"Body": {body}, "NumMedia": {"0"},
	}
	status, answer := Post(t, serverURL, publicURL, authToken, twilio.PathMessage, form)
	if status != http.StatusOK {
		t.Fatalf("twiliotest: SMS %q from %s: got status %d (%s), want 200", body, from, status, answer)
	}
	return answer
}

// PressKey plays a step of call: Twilio fetching actionURL (call.URL when
// empty) with digits pressed ("" when the call was just answered), and
// returns the TwiML answer. The test fails unless the answer is 200.
func PressKey(t testing.TB, serverURL, publicURL, authToken string, call Call, actionURL, digits string) string {
	t.Helper()
	if actionURL == "" {
		actionURL = call.URL
	}
	form := url.Values{
		"CallSid": {call.SID}, "AccountSid": {AccountSID}, "From": {call.From}, "To": {call.To},
		"Direction": {"outbound-api"}, "CallStatus": {"in-progress"},
	}
	if digits != "" {
		form.Set("Digits", digits)
	}
	status, answer := Post(t, serverURL, publicURL, authToken, actionURL, form)
	if status != http.StatusOK {
		t.Fatalf("twiliotest: call %s, key %q: got status %d (%s), want 200", call.SID, digits, status, answer)
	}
	return answer
}

// ReportSMSStatus posts Twilio's status report of m to its StatusCallback
// and returns the answer's status.
func ReportSMSStatus(t testing.TB, serverURL, publicURL, authToken string, m SMS, status string) int {
	t.Helper()
	form := url.Values{
		"MessageSid": {m.SID}, "SmsSid": {m.SID}, "AccountSid": {AccountSID}, "From": {m.From}, "To": {m.To},
		"MessageStatus": {status}, "SmsStatus": {status},
	}
	code, _ := Post(t, serverURL, publicURL, authToken, m.StatusCallback, form)
	return code
}

// ReportCallStatus posts Twilio's status report of c to its
// StatusCallback and returns the answer's status.
func ReportCallStatus(t testing.TB, serverURL, publicURL, authToken string, c Call, status string) int {
	t.Helper()
	form := url.Values{
		"CallSid": {c.SID}, "AccountSid": {AccountSID}, "From": {c.From}, "To": {c.To},
		"Direction": {"outbound-api"}, "CallStatus": {status},
	}
	code, _ := Post(t, serverURL, publicURL, authToken, c.StatusCallback, form)
	return code
}

// TwiML is the part of a TwiML answer that tests look at.
type TwiML struct {
	// Says are the texts spoken, in order, those of Gather included.
	Says []string
	// Messages are the SMS answers.
	Messages []string
	// Gather is the first Gather, nil without one.
	Gather *Gather
	// Hangup says the call ends.
	Hangup bool
}

// Gather waits for keys and posts them to Action.
type Gather struct {
	Action    string
	NumDigits string
}

// Spoken returns all the call says, as one text.
func (d TwiML) Spoken() string { return strings.Join(d.Says, " ") }

// ParseTwiML reads a TwiML answer; the test fails unless it is a TwiML
// Response.
func ParseTwiML(t testing.TB, doc string) TwiML {
	t.Helper()
	var out TwiML
	dec := xml.NewDecoder(strings.NewReader(doc))
	var text *string
	root := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("twiliotest: malformed TwiML %q: %v", doc, err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch el.Name.Local {
			case "Response":
				root = true
			case "Say":
				out.Says = append(out.Says, "")
				text = &out.Says[len(out.Says)-1]
			case "Message":
				out.Messages = append(out.Messages, "")
				text = &out.Messages[len(out.Messages)-1]
			case "Gather":
				if out.Gather == nil {
					g := &Gather{}
					for _, a := range el.Attr {
						switch a.Name.Local {
						case "action":
							g.Action = a.Value
						case "numDigits":
							g.NumDigits = a.Value
						}
					}
					out.Gather = g
				}
			case "Hangup":
				out.Hangup = true
			}
		case xml.CharData:
			if text != nil {
				*text += string(el)
			}
		case xml.EndElement:
			text = nil
		}
	}
	if !root {
		t.Fatalf("twiliotest: not a TwiML Response: %q", doc)
	}
	return out
}

package twilio

import (
	"encoding/xml"
	"net/http"

	"github.com/labstack/echo/v4"
)

// twiml is a TwiML document: the verbs Twilio carries out, in order.
type twiml struct {
	XMLName xml.Name `xml:"Response"`
	Verbs   []any
}

type sayVerb struct {
	XMLName xml.Name `xml:"Say"`
	Text    string   `xml:",chardata"`
}

type messageVerb struct {
	XMLName xml.Name `xml:"Message"`
	Text    string   `xml:",chardata"`
}

// gatherVerb reads one key press while its prompts play, then posts it as
// Digits to Action. Without a key press the call goes on with the verbs
// that follow.
type gatherVerb struct {
	XMLName   xml.Name  `xml:"Gather"`
	NumDigits int       `xml:"numDigits,attr"`
	Timeout   int       `xml:"timeout,attr"`
	Action    string    `xml:"action,attr"`
	Method    string    `xml:"method,attr"`
	Says      []sayVerb `xml:"Say"`
}

type hangupVerb struct {
	XMLName xml.Name `xml:"Hangup"`
}

func (t *twiml) say(texts ...string) *twiml {
	for _, s := range texts {
		if s != "" {
			t.Verbs = append(t.Verbs, sayVerb{Text: s})
		}
	}
	return t
}

// gather plays prompts while waiting for one key, posted to action.
func (t *twiml) gather(action string, prompts ...string) *twiml {
	g := gatherVerb{NumDigits: 1, Timeout: gatherTimeoutSec, Action: action, Method: http.MethodPost}
	for _, p := range prompts {
		if p != "" {
			g.Says = append(g.Says, sayVerb{Text: p})
		}
	}
	t.Verbs = append(t.Verbs, g)
	return t
}

func (t *twiml) hangup() *twiml {
	t.Verbs = append(t.Verbs, hangupVerb{})
	return t
}

// gatherTimeoutSec is how long a call waits for a key after its prompts.
const gatherTimeoutSec = 10

// writeTwiML answers with doc.
func writeTwiML(c echo.Context, doc *twiml) error {
	out, err := xml.Marshal(doc)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/xml; charset=utf-8", append([]byte(xml.Header), out...))
}

package ingest

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	ctJSON = "application/json"
	ctForm = "application/x-www-form-urlencoded"
)

func TestGeneric(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		query       string
		form        string
		body        string
		want        Request
	}{
		{
			name:  "query only",
			query: "token=k&summary=CPU+high+on+web-1&details=load+15+for+10m&dedup=web-1%2Fcpu&meta=host%3Dweb-1&meta=expr%3Dload%3E10",
			want: Request{
				Action:  ActionTrigger,
				Summary: "CPU high on web-1",
				Details: "load 15 for 10m",
				Dedup:   "web-1/cpu",
				Meta:    map[string]string{"host": "web-1", "expr": "load>10"},
			},
		},
		{
			name:        "form fields",
			contentType: ctForm,
			form:        "summary=Backup+failed&details=exit+status+2%0Asee+logs&action=trigger",
			want:        Request{Action: ActionTrigger, Summary: "Backup failed", Details: "exit status 2\nsee logs"},
		},
		{
			name:        "form overrides query field by field",
			contentType: ctForm,
			query:       "summary=from+query&details=query+details&meta=a%3Dq",
			form:        "summary=from+form&meta=b%3Df",
			want: Request{
				Action:  ActionTrigger,
				Summary: "from form",
				Details: "query details",
				Meta:    map[string]string{"b": "f"},
			},
		},
		{
			name:  "close",
			query: "summary=Backup+failed&action=close&dedup=backup",
			want:  Request{Action: ActionClose, Summary: "Backup failed", Dedup: "backup"},
		},
		{
			name:  "any other action triggers",
			query: "summary=s&action=Close",
			want:  Request{Action: ActionTrigger, Summary: "s"},
		},
		{
			name:  "empty action triggers",
			query: "summary=s&action=",
			want:  Request{Action: ActionTrigger, Summary: "s"},
		},
		{
			name: "no fields at all",
			want: Request{Action: ActionTrigger},
		},
		{
			name:  "meta value with equals and empty value; later key wins",
			query: "meta=q%3Da%3D1%26b%3D2&meta=empty%3D&meta=k%3Dfirst&meta=k%3Dsecond",
			want: Request{
				Action: ActionTrigger,
				Meta:   map[string]string{"q": "a=1&b=2", "empty": "", "k": "second"},
			},
		},
		{
			name:        "JSON body",
			contentType: ctJSON,
			body: `{"summary":"Payment API 5xx above 2%","details":"See https://grafana.example.com/d/pay\n\nerror rate 3.1%",
				"action":"trigger","dedup":"payments-5xx","meta":{"team":"payments","region":"eu-west-1"}}`,
			want: Request{
				Action:  ActionTrigger,
				Summary: "Payment API 5xx above 2%",
				Details: "See https://grafana.example.com/d/pay\n\nerror rate 3.1%",
				Dedup:   "payments-5xx",
				Meta:    map[string]string{"team": "payments", "region": "eu-west-1"},
			},
		},
		{
			name:        "JSON close",
			contentType: ctJSON,
			body:        `{"action":"close","dedup":"payments-5xx"}`,
			want:        Request{Action: ActionClose, Dedup: "payments-5xx"},
		},
		{
			name:        "JSON with charset",
			contentType: "application/json; charset=utf-8",
			body:        `{"summary":"with charset"}`,
			want:        Request{Action: ActionTrigger, Summary: "with charset"},
		},
		{
			name:        "JSON content type in other letter case",
			contentType: "Application/JSON;Charset=UTF-8",
			body:        `{"summary":"upper case"}`,
			want:        Request{Action: ActionTrigger, Summary: "upper case"},
		},
		{
			name:        "JSON keys match case-insensitively",
			contentType: ctJSON,
			body:        `{"Summary":"Capitalized","DEDUP":"d"}`,
			want:        Request{Action: ActionTrigger, Summary: "Capitalized", Dedup: "d"},
		},
		{
			name:        "JSON overrides query field by field",
			contentType: ctJSON,
			query:       "summary=query+summary&details=query+details&action=close&dedup=query-dedup&meta=src%3Dquery",
			body:        `{"summary":"json summary","dedup":"json-dedup"}`,
			want: Request{
				Action:  ActionClose,
				Summary: "json summary",
				Details: "query details",
				Dedup:   "json-dedup",
				Meta:    map[string]string{"src": "query"},
			},
		},
		{
			name:        "JSON null leaves the query value",
			contentType: ctJSON,
			query:       "summary=query+summary&meta=src%3Dquery",
			body:        `{"summary":null,"meta":null}`,
			want:        Request{Action: ActionTrigger, Summary: "query summary", Meta: map[string]string{"src": "query"}},
		},
		{
			name:        "JSON meta replaces query meta whole",
			contentType: ctJSON,
			query:       "meta=a%3Dq&meta=b%3Dq",
			body:        `{"meta":{"b":"j"}}`,
			want:        Request{Action: ActionTrigger, Meta: map[string]string{"b": "j"}},
		},
		{
			name:        "JSON meta replaces a bad query meta",
			contentType: ctJSON,
			query:       "meta=no-equals",
			body:        `{"meta":{"ok":"yes"}}`,
			want:        Request{Action: ActionTrigger, Meta: map[string]string{"ok": "yes"}},
		},
		{
			name:        "empty JSON meta is no meta",
			contentType: ctJSON,
			query:       "meta=a%3Dq",
			body:        `{"meta":{}}`,
			want:        Request{Action: ActionTrigger},
		},
		{
			name:        "JSON unknown keys are ignored",
			contentType: ctJSON,
			body:        `{"summary":"s","token":"abc","extra":{"nested":[1,2]}}`,
			want:        Request{Action: ActionTrigger, Summary: "s"},
		},
		{
			name:        "body ignored without a JSON content type",
			contentType: "text/plain",
			query:       "summary=from+query",
			body:        `{"summary":"from body"}`,
			want:        Request{Action: ActionTrigger, Summary: "from query"},
		},
		{
			name:        "summary newlines folded, details kept",
			contentType: ctJSON,
			body:        `{"summary":"  Disk full\r\non db-1\nvolume /data\rnow \n","details":"line 1\r\nline 2\n"}`,
			want:        Request{Action: ActionTrigger, Summary: "Disk full on db-1 volume /data now", Details: "line 1\r\nline 2\n"},
		},
		{
			name:  "query summary newlines folded",
			query: "summary=%0Afirst%0D%0Asecond%0D",
			want:  Request{Action: ActionTrigger, Summary: "first second"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{ContentType: tt.contentType, Query: query(t, tt.query), Body: []byte(tt.body)}
			if tt.form != "" {
				in.Form = query(t, tt.form)
			}
			got, err := Generic(in)
			if err != nil {
				t.Fatalf("Generic() error = %v, want nil", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Generic() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGenericErrors(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		query       string
		form        string
		body        string
		want        string
	}{
		{
			name:        "truncated JSON",
			contentType: ctJSON,
			body:        `{"summary":"x"`,
			want:        "invalid JSON body: unexpected end of input",
		},
		{
			name:        "empty JSON body",
			contentType: ctJSON,
			want:        "invalid JSON body: unexpected end of input",
		},
		{
			name:        "trailing comma",
			contentType: ctJSON,
			body:        `{"summary":"x",}`,
			want:        "invalid JSON body: invalid character '}' looking for beginning of object key string (at byte 16)",
		},
		{
			name:        "trailing garbage",
			contentType: "application/json; charset=utf-8",
			body:        `{"summary":"x"} {}`,
			want:        "invalid JSON body: invalid character '{' after top-level value (at byte 17)",
		},
		{
			name:        "not an object",
			contentType: ctJSON,
			body:        `["summary"]`,
			want:        "invalid JSON body: expected an object, got array",
		},
		{
			name:        "summary not a string",
			contentType: ctJSON,
			body:        `{"summary":42}`,
			want:        "invalid JSON body: summary: expected a string, got number",
		},
		{
			name:        "meta value not a string",
			contentType: ctJSON,
			body:        `{"summary":"s","meta":{"host":"web-1","count":3}}`,
			want:        "invalid JSON body: meta.count: expected a string, got number",
		},
		{
			name:        "meta value null",
			contentType: ctJSON,
			body:        `{"meta":{"host":null}}`,
			want:        "invalid JSON body: meta.host: expected a string, got null",
		},
		{
			name:        "meta value object",
			contentType: ctJSON,
			body:        `{"meta":{"labels":{"a":"b"}}}`,
			want:        "invalid JSON body: meta.labels: expected a string, got object",
		},
		{
			name:        "meta not an object",
			contentType: ctJSON,
			body:        `{"meta":["a=b"]}`,
			want:        "invalid JSON body: meta: expected an object, got array",
		},
		{
			name:        "JSON meta empty key",
			contentType: ctJSON,
			body:        `{"meta":{"":"v"}}`,
			want:        "invalid JSON body: meta has an empty key",
		},
		{
			name:  "query meta without equals",
			query: "summary=s&meta=host%3Dweb-1&meta=orphan",
			want:  `meta entry "orphan" must have the form key=value`,
		},
		{
			name:        "form meta without equals",
			contentType: ctForm,
			form:        "meta=orphan",
			want:        `meta entry "orphan" must have the form key=value`,
		},
		{
			name:  "meta empty key",
			query: "meta=%3Dvalue",
			want:  `meta entry "=value" has an empty key`,
		},
		{
			name:        "JSON without meta keeps checking query meta",
			contentType: ctJSON,
			query:       "meta=orphan",
			body:        `{"summary":"s"}`,
			want:        `meta entry "orphan" must have the form key=value`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{ContentType: tt.contentType, Query: query(t, tt.query), Body: []byte(tt.body)}
			if tt.form != "" {
				in.Form = query(t, tt.form)
			}
			got, err := Generic(in)
			if msg := parseErrMsg(t, err); msg != tt.want {
				t.Errorf("Generic() error = %q, want %q", msg, tt.want)
			}
			if diff := cmp.Diff(Request{}, got); diff != "" {
				t.Errorf("Generic() returned a request with its error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGenericNetHTTPForm checks a form built as net/http's ParseForm builds
// it, body values before query values, gives the body precedence.
func TestGenericNetHTTPForm(t *testing.T) {
	q := url.Values{"summary": {"query"}, "dedup": {"q"}}
	form := url.Values{"summary": {"body", "query"}, "dedup": {"q"}}
	got, err := Generic(Input{ContentType: ctForm, Query: q, Form: form})
	if err != nil {
		t.Fatalf("Generic() error = %v, want nil", err)
	}
	want := Request{Action: ActionTrigger, Summary: "body", Dedup: "q"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Generic() mismatch (-want +got):\n%s", diff)
	}
}

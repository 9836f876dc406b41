package explore_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/oncallhq/goalert/adapters/graphqlapi"
	"github.com/oncallhq/goalert/adapters/graphqlapi/explore"
	"github.com/oncallhq/goalert/domain/user"
)

func get(t *testing.T, h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var refAttr = regexp.MustCompile(`\b(?:src|href|data-endpoint)="([^"]*)"`)

// pageRefs returns the URLs the page's HTML refers to, resolved against
// the page's own URL as a browser would.
func pageRefs(t *testing.T, html string) map[string]string {
	t.Helper()
	base, err := url.Parse("http://example.test" + explore.PagePath)
	if err != nil {
		t.Fatal(err)
	}
	refs := make(map[string]string)
	for _, m := range refAttr.FindAllStringSubmatch(html, -1) {
		u, err := base.Parse(m[1])
		if err != nil {
			t.Fatalf("reference %q: %v", m[1], err)
		}
		refs[m[1]] = u.Path
	}
	return refs
}

func TestPageRefersOnlyToLocalAssets(t *testing.T) {
	h := explore.Handler()
	rec := get(t, h, explore.PagePath)
	if rec.Code != http.StatusOK {
		t.Fatalf("page: status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("page: Content-Type %q", ct)
	}
	html := rec.Body.String()
	refs := pageRefs(t, html)

	wantTypes := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	var scripts, styles int
	for ref, p := range refs {
		if strings.Contains(ref, "//") {
			t.Errorf("reference %q is not relative to the page", ref)
		}
		if ref == "../graphql" {
			if p != "/api/graphql" {
				t.Errorf("GraphQL endpoint resolves to %q", p)
			}
			continue
		}
		if !strings.HasPrefix(p, explore.AssetsPath) {
			t.Errorf("reference %q resolves to %q, outside %s", ref, p, explore.AssetsPath)
			continue
		}
		ext := path.Ext(p)
		switch ext {
		case ".js":
			scripts++
		case ".css":
			styles++
		}
		rec := get(t, h, p)
		if rec.Code != http.StatusOK {
			t.Errorf("%s: status %d", p, rec.Code)
			continue
		}
		if ct, want := rec.Header().Get("Content-Type"), wantTypes[ext]; ct != want {
			t.Errorf("%s: Content-Type %q, want %q", p, ct, want)
		}
		if rec.Body.Len() == 0 {
			t.Errorf("%s: empty body", p)
		}
		wantCache := "no-cache"
		if strings.Contains(p, "/vendor/") {
			wantCache = "public, max-age=31536000, immutable"
		}
		if cc := rec.Header().Get("Cache-Control"); cc != wantCache {
			t.Errorf("%s: Cache-Control %q, want %q", p, cc, wantCache)
		}
	}
	// React, ReactDOM, GraphiQL and the boot script; GraphiQL's and our
	// stylesheet.
	if scripts != 4 || styles != 2 {
		t.Errorf("page refers to %d scripts and %d stylesheets, want 4 and 2:\n%s", scripts, styles, html)
	}
}

// The page and its boot script must not reach for another origin: the
// explorer runs on networks without internet access.
func TestNoRemoteURLs(t *testing.T) {
	h := explore.Handler()
	for _, p := range []string{explore.PagePath, explore.AssetsPath + "explore.js", explore.AssetsPath + "explore.css"} {
		rec := get(t, h, p)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", p, rec.Code)
		}
		body := strings.ToLower(rec.Body.String())
		for _, scheme := range []string{"http://", "https://", "//cdn", "unpkg", "jsdelivr"} {
			if strings.Contains(body, scheme) {
				t.Errorf("%s contains %q", p, scheme)
			}
		}
	}
}

// The page must run under a policy without 'unsafe-inline' for scripts.
func TestNoInlineScript(t *testing.T) {
	html := get(t, explore.Handler(), explore.PagePath).Body.String()
	for _, m := range regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(html, -1) {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script: %q", m[0])
		}
	}
	if regexp.MustCompile(`\son[a-z]+=`).MatchString(html) {
		t.Error("page has an inline event handler attribute")
	}
}

func TestNotFound(t *testing.T) {
	h := explore.Handler()
	for _, p := range []string{
		explore.AssetsPath + "nope.js",
		explore.AssetsPath + "vendor",
		explore.AssetsPath + "vendor/",
		explore.AssetsPath,
		explore.AssetsPath + "../index.html",
		explore.PagePath + "/index.html",
		explore.PagePath + "x",
	} {
		if rec := get(t, h, p); rec.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, rec.Code)
		}
	}
}

func TestTrailingSlashRedirects(t *testing.T) {
	rec := get(t, explore.Handler(), explore.PagePath+"/")
	if rec.Code != http.StatusMovedPermanently {
		t.Fatalf("status %d", rec.Code)
	}
	base, _ := url.Parse("http://example.test/prefix" + explore.PagePath + "/")
	to, err := base.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if to.Path != "/prefix"+explore.PagePath {
		t.Errorf("redirects to %q", to.Path)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, explore.PagePath, nil)
	rec := httptest.NewRecorder()
	explore.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("status %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

func TestGzipAndRevalidation(t *testing.T) {
	h := explore.Handler()
	p := explore.AssetsPath + "vendor/graphiql-3.9.0.min.js"
	plain := get(t, h, p)
	zipped := get(t, h, p, "Accept-Encoding", "gzip, deflate, br")
	if plain.Code != http.StatusOK || zipped.Code != http.StatusOK {
		t.Fatalf("status %d and %d", plain.Code, zipped.Code)
	}
	if plain.Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that did not ask for it")
	}
	if zipped.Header().Get("Content-Encoding") != "gzip" {
		t.Fatal("no gzip for a client that asked for it")
	}
	if zipped.Body.Len() >= plain.Body.Len()/2 {
		t.Errorf("gzip body %d bytes for %d plain", zipped.Body.Len(), plain.Body.Len())
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unzipped, plain.Body.Bytes()) {
		t.Error("gzip body does not decompress to the file")
	}
	if plain.Header().Get("ETag") == zipped.Header().Get("ETag") {
		t.Error("plain and gzip forms share an ETag")
	}
	for _, rec := range []*httptest.ResponseRecorder{plain, zipped} {
		if v := rec.Header().Get("Vary"); v != "Accept-Encoding" {
			t.Errorf("Vary %q", v)
		}
	}
	again := get(t, h, p, "If-None-Match", plain.Header().Get("ETag"))
	if again.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", again.Code)
	}
	refused := get(t, h, p, "Accept-Encoding", "gzip;q=0, identity")
	if refused.Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent despite q=0")
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	rec := get(t, explore.Handler(), explore.PagePath)
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("page CSP %q", csp)
	}
	// A policy set by the server's middleware stays as it is.
	const serverCSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
	req := httptest.NewRequest(http.MethodGet, explore.PagePath, nil)
	rec = httptest.NewRecorder()
	rec.Header().Set("Content-Security-Policy", serverCSP)
	explore.Handler().ServeHTTP(rec, req)
	if csp := rec.Header().Get("Content-Security-Policy"); csp != serverCSP {
		t.Errorf("server CSP replaced by %q", csp)
	}
}

// Every embedded file is served with a known content type, and README.md
// names every vendored file, so the notice stays in step with update.sh.
func TestEmbeddedFilesAreDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	h := explore.Handler()
	root := os.DirFS("assets")
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rec := get(t, h, explore.AssetsPath+p)
		if rec.Code != http.StatusOK {
			t.Errorf("%s: status %d", p, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct == "application/octet-stream" || ct == "" {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
		if strings.HasPrefix(p, "vendor/") && !bytes.Contains(readme, []byte(filepath.Base(p))) {
			t.Errorf("README.md does not mention %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The route registration given in Handler's documentation, on echo as in
// cmd/goalert/app, reaches the page and its assets and leaves the GraphQL
// endpoint to its own handler.
func TestEchoRegistration(t *testing.T) {
	e := echo.New()
	e.Match([]string{http.MethodGet, http.MethodHead}, explore.PagePath+"*", echo.WrapHandler(explore.Handler()))
	e.POST("/api/graphql", func(c echo.Context) error { return c.String(http.StatusOK, "graphql") })

	for p, want := range map[string]int{
		explore.PagePath:                        http.StatusOK,
		explore.PagePath + "/":                  http.StatusMovedPermanently,
		explore.AssetsPath + "explore.js":       http.StatusOK,
		explore.AssetsPath + "vendor/nope.js":   http.StatusNotFound,
		explore.PagePath + "r":                  http.StatusNotFound,
		"/api/graphql/exploreassets/explore.js": http.StatusNotFound,
	} {
		if rec := get(t, e, p); rec.Code != want {
			t.Errorf("GET %s: status %d, want %d", p, rec.Code, want)
		}
	}
	head := httptest.NewRecorder()
	e.ServeHTTP(head, httptest.NewRequest(http.MethodHead, explore.PagePath, nil))
	if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("HEAD %s: status %d, %d body bytes, Content-Type %q", explore.PagePath, head.Code, head.Body.Len(), head.Header().Get("Content-Type"))
	}
	req := httptest.NewRequest(http.MethodPost, "/api/graphql", strings.NewReader("{}"))
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != "graphql" {
		t.Errorf("POST /api/graphql: %d %q", rec.Code, rec.Body.String())
	}
}

// The introspection query explore.js sends in place of GraphiQL's must
// pass the API's limits (its depth limit is why it exists) and describe
// every type reference to the end: a reference cut short by the query's
// ofType depth would make GraphiQL reject the whole schema.
func TestIntrospectionQueryFitsTheAPI(t *testing.T) {
	js, err := os.ReadFile(filepath.Join("assets", "explore.js"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)var introspectionName = '([^']+)';\\s*var introspectionQuery = `(.*?)`;").FindSubmatch(js)
	if m == nil {
		t.Fatal("explore.js: introspection query not found")
	}
	name, query := string(m[1]), string(m[2])
	if !strings.Contains(query, "query "+name+" {") {
		t.Fatalf("the introspection query's operation is not named %s", name)
	}

	gql, err := graphqlapi.New(graphqlapi.Deps{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]string{"query": query, "operationName": name})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/api/graphql", bytes.NewReader(body))
	req = req.WithContext(user.WithPrincipal(req.Context(), user.Principal{UserID: "u1", Name: "Explorer", Role: user.RoleUser, Source: "web"}))
	rec := httptest.NewRecorder()
	gql.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var resp struct {
		Data struct {
			Schema map[string]any `json:"__schema"`
		} `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	for _, e := range resp.Errors {
		t.Errorf("introspection error: %s", e.Message)
	}
	types, _ := resp.Data.Schema["types"].([]any)
	if len(types) == 0 {
		t.Fatalf("no types in the introspection result: %s", rec.Body)
	}

	// The innermost reference the query asks for has no ofType; if it is
	// still a wrapper (LIST or NON_NULL), the type was cut short.
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if _, hasOf := v["ofType"]; !hasOf && (v["kind"] == "LIST" || v["kind"] == "NON_NULL") {
				t.Errorf("type reference cut short by the query's ofType depth: %v", v)
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(resp.Data.Schema)
}

// Package explore serves GraphiQL, an in-browser GraphQL IDE, at
// /api/graphql/explore, pointed at the API at /api/graphql.
//
// Everything the page needs is embedded in the binary: GraphiQL, React and
// ReactDOM come from their npm packages (see README.md and update.sh), and
// the page boots from a script file rather than inline code. So the
// explorer works on networks without internet access and under a
// Content-Security-Policy that allows only same-origin scripts.
package explore

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// Paths the handler answers. The page's own references are relative, so
// only the server side knows these absolute paths.
const (
	PagePath   = "/api/graphql/explore"
	AssetsPath = PagePath + "/assets/"
)

//go:embed index.html assets
var files embed.FS

// Cache policies. Vendor files carry their package version in their name,
// so a given URL never changes content and browsers may keep it for a year
// without asking again. The page and our own small assets change with the
// code under the same URL: browsers revalidate them (cheaply, by ETag).
const (
	cacheImmutable   = "public, max-age=31536000, immutable"
	cacheRevalidate  = "no-cache"
	vendorDirPrefix  = "vendor/"
	gzipMinSizeBytes = 1024
)

// pageCSP is sent with the page when nothing in front of the handler has
// set a policy already; a server-wide policy is left as it is. It is the
// server's policy plus data: fonts and images, which GraphiQL's stylesheet
// embeds (under the stricter policy they fall back to system fonts).
const pageCSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; frame-ancestors 'none'"

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
}

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	cache       string
	etag        string

	// The gzip form is made on first request: most processes never serve
	// the explorer, and compressing GraphiQL at start-up would cost them
	// time for nothing.
	gzipOnce sync.Once
	gzipBody []byte
}

// gzipped returns the compressed body, or nil when compression does not
// make it smaller.
func (a *asset) gzipped() []byte {
	a.gzipOnce.Do(func() {
		if len(a.body) < gzipMinSizeBytes {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(a.body); err != nil {
			return
		}
		if err := zw.Close(); err != nil {
			return
		}
		if buf.Len() < len(a.body) {
			a.gzipBody = buf.Bytes()
		}
	})
	return a.gzipBody
}

type handler struct {
	page   *asset
	assets map[string]*asset // by path below AssetsPath
}

// Handler serves the explorer page at PagePath and its files below
// AssetsPath. Register it for GET and HEAD on PagePath and everything under
// it; with echo, whose router does not send HEAD to GET routes:
//
//	e.Match([]string{http.MethodGet, http.MethodHead}, explore.PagePath+"*", echo.WrapHandler(explore.Handler()))
//
// The page needs no signed-in user: it holds no data, and the API it calls
// checks the session as for any other client.
func Handler() http.Handler {
	h := &handler{assets: make(map[string]*asset)}
	page, err := files.ReadFile("index.html")
	if err != nil {
		// The file is embedded at build time; missing it is a build bug.
		panic("explore: " + err.Error())
	}
	h.page = newAsset("index.html", page, cacheRevalidate)
	err = fs.WalkDir(files, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		cache := cacheRevalidate
		if strings.HasPrefix(name, vendorDirPrefix) {
			cache = cacheImmutable
		}
		h.assets[name] = newAsset(name, body, cache)
		return nil
	})
	if err != nil {
		panic("explore: " + err.Error())
	}
	return h
}

func newAsset(name string, body []byte, cache string) *asset {
	ct, ok := contentTypes[path.Ext(name)]
	if !ok {
		ct = "application/octet-stream"
	}
	sum := sha256.Sum256(body)
	return &asset{
		body: body, contentType: ct, cache: cache,
		etag: `"` + hex.EncodeToString(sum[:12]) + `"`,
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == PagePath:
		if !allowMethod(w, r) {
			return
		}
		if w.Header().Get("Content-Security-Policy") == "" {
			w.Header().Set("Content-Security-Policy", pageCSP)
		}
		serve(w, r, h.page)
	case p == PagePath+"/":
		// The page's relative URLs resolve only without the trailing
		// slash. A relative Location keeps any proxy path prefix, which
		// http.Redirect would drop by resolving against r.URL.Path.
		if !allowMethod(w, r) {
			return
		}
		w.Header().Set("Location", "../explore")
		w.WriteHeader(http.StatusMovedPermanently)
	case strings.HasPrefix(p, AssetsPath):
		a, ok := h.assets[strings.TrimPrefix(p, AssetsPath)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if !allowMethod(w, r) {
			return
		}
		serve(w, r, a)
	default:
		http.NotFound(w, r)
	}
}

// allowMethod answers 405 to anything but GET and HEAD.
func allowMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
	return false
}

// serve writes a, gzipped when the client takes it. http.ServeContent
// handles HEAD, If-None-Match and ranges; the gzip form has its own ETag
// so a cache never mixes up the two.
func serve(w http.ResponseWriter, r *http.Request, a *asset) {
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", a.cache)
	hdr.Set("X-Content-Type-Options", "nosniff")
	body, etag := a.body, a.etag
	if a.gzipped() != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = a.gzipBody, strings.TrimSuffix(a.etag, `"`)+`-gzip"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip: named
// with a non-zero quality, or not named and "*" has a non-zero quality.
func acceptsGzip(header string) bool {
	gzipQ, starQ := "", ""
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		q := "1"
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			q = strings.TrimSpace(v)
		}
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "gzip":
			gzipQ = q
		case "*":
			starQ = q
		}
	}
	if gzipQ == "" {
		gzipQ = starQ
	}
	// Qualities are 0 to 1 with up to three decimals: zero is any spelling
	// made only of zeros and a dot.
	return gzipQ != "" && strings.Trim(gzipQ, "0.") != ""
}

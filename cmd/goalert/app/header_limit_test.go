package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
)

// --max-request-header-bytes (4096 in the harness) is enforced exactly:
// just under it passes, just over it is 431.
func TestHeaderLimitIsExact(t *testing.T) {
	h := apptest.New(t)
	status := func(pad int) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, h.URL+"/health", nil)
		req.Header.Set("X-Pad", strings.Repeat("a", pad))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(3500); got != http.StatusOK {
		t.Errorf("headers under the limit: got %d, want 200", got)
	}
	if got := status(4500); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("headers over 4096 bytes (but within Go's slack): got %d, want 431", got)
	}
}

package problem_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/miniappkit/miniappkit/problem"
)

// A handler answers its errors in the same shape as the SDK's middleware.
func Example() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			problem.Error(w, http.StatusMethodNotAllowed, "use POST")
			return
		}
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/orders", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Print(rec.Body.String())
	// Output:
	// 405 application/problem+json
	// {"type":"about:blank","title":"Method Not Allowed","status":405,"detail":"use POST"}
}

// A problem type of your own, with an extension member clients can branch on.
func ExampleWrite() {
	rec := httptest.NewRecorder()
	problem.Write(rec, problem.Details{
		Type:       "https://example.com/problems/out-of-stock",
		Title:      "Out of stock",
		Status:     http.StatusConflict,
		Detail:     "Only 2 left.",
		Extensions: map[string]any{"available": 2},
	})
	fmt.Print(rec.Body.String())
	// Output:
	// {"type":"https://example.com/problems/out-of-stock","title":"Out of stock","status":409,"detail":"Only 2 left.","available":2}
}

// Command appender is the crash harness's own test program: each request
// ?unit=N appends "N\n" to the file named by -out (flushed to the kernel
// before the answer, so it survives SIGKILL), with no deduplication.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
)

func main() {
	out := flag.String("out", "", "the file to append to")
	flag.Parse()
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("LISTEN", ln.Addr())
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := fmt.Fprintf(f, "%s\n", r.URL.Query().Get("unit")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})))
}

// Command appender is the crash harness's own test program: each request
// ?unit=N appends "N\n" to the file named by -out (flushed to the kernel
// before the answer, so it survives SIGKILL), with no deduplication.
//
// With -lossy it is the harness's mutant: it answers first and writes the
// lines every 5 ms, so a kill loses the units answered since the last
// write. With -stall it never answers. With -pids it appends its pid to
// that file at start.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	out := flag.String("out", "", "the file to append to")
	lossy := flag.Bool("lossy", false, "answer before writing (a mutant that loses work)")
	pids := flag.String("pids", "", "a file to append the pid to")
	stall := flag.Bool("stall", false, "never answer (a program that hangs)")
	flag.Parse()
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	if *pids != "" {
		pf, err := os.OpenFile(*pids, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := pf.WriteString(strconv.Itoa(os.Getpid()) + "\n"); err != nil {
			log.Fatal(err)
		}
		pf.Close()
	}
	if *stall {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("LISTEN", ln.Addr())
		log.Fatal(http.Serve(ln, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { select {} })))
	}
	if *lossy {
		serveLossy(f)
		return
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

// serveLossy answers every unit at once and writes the answered units
// every 5 ms.
func serveLossy(f *os.File) {
	var mu sync.Mutex
	var pending []byte
	go func() {
		for range time.Tick(5 * time.Millisecond) {
			mu.Lock()
			b := pending
			pending = nil
			mu.Unlock()
			if _, err := f.Write(b); err != nil {
				log.Fatal(err)
			}
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("LISTEN", ln.Addr())
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		pending = append(pending, r.URL.Query().Get("unit")+"\n"...)
		mu.Unlock()
	})))
}

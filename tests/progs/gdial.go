// gdial: a Go client for the seccomp intercept tests (stdlib only; built by
// tests/e2e/test_seccomp.sh with CGO_ENABLED=0 and =1).
//
//	gdial dial HOST:PORT     one net.Dial, "ping\n" echoed: "ok remote=ADDR" | "err=..."
//	gdial http URL           GET: "status=N body=..."
//	gdial lookup NAME        Go's own resolver: "addrs=A B ..." | "err=..."
//	gdial many N HOST:PORT   N concurrent dials, each echoed: "ok=K/N" (+ "err=..." lines)
//	gdial storm N HOST:PORT  N sequential dials while SIGUSR1 hits the process every 1 ms
//	gdial timed N HOST:PORT  one warm-up dial (not timed), then "many": "ok=K/N ms=T", T the
//	                         milliseconds from the first concurrent dial to the last echo (make bench)
//	gdial repl               one process, many steps: reads "dial HOST:PORT" or "lookup NAME"
//	                         lines from stdin, answers each with one line as above; ends at EOF
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func echo(addr string) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	if line != "ping\n" {
		return "", fmt.Errorf("echo %q", line)
	}
	return c.RemoteAddr().String(), nil
}

// lookup prints Go's own resolver's answer: "addrs=A B ..." or "err=...".
func lookup(name string) bool {
	r := &net.Resolver{PreferGo: true}
	addrs, err := r.LookupHost(context.Background(), name)
	if err != nil {
		fmt.Println("err=" + err.Error())
		return false
	}
	sort.Strings(addrs)
	fmt.Println("addrs=" + strings.Join(addrs, " "))
	return true
}

func main() {
	switch os.Args[1] {
	case "dial":
		r, err := echo(os.Args[2])
		if err != nil {
			fmt.Println("err=" + err.Error())
			os.Exit(1)
		}
		fmt.Println("ok remote=" + r)
	case "lookup":
		if !lookup(os.Args[2]) {
			os.Exit(1)
		}
	case "repl":
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			f := strings.Fields(in.Text())
			switch {
			case len(f) == 2 && f[0] == "dial":
				r, err := echo(f[1])
				if err != nil {
					fmt.Println("err=" + err.Error())
				} else {
					fmt.Println("ok remote=" + r)
				}
			case len(f) == 2 && f[0] == "lookup":
				lookup(f[1])
			default:
				fmt.Println("err=bad command")
			}
		}
	case "http":
		resp, err := http.Get(os.Args[2])
		if err != nil {
			fmt.Println("err=" + err.Error())
			os.Exit(1)
		}
		b, _ := io.ReadAll(resp.Body)
		fmt.Printf("status=%d body=%s", resp.StatusCode, b)
	case "many", "storm", "timed":
		n, _ := strconv.Atoi(os.Args[2])
		if os.Args[1] == "timed" {
			if _, err := echo(os.Args[3]); err != nil {
				fmt.Println("err=warm-up: " + err.Error())
				os.Exit(1)
			}
		}
		ok := 0
		var mu sync.Mutex
		var errs []string
		one := func() {
			_, err := echo(os.Args[3])
			mu.Lock()
			if err == nil {
				ok++
			} else {
				errs = append(errs, err.Error())
			}
			mu.Unlock()
		}
		t0 := time.Now()
		if os.Args[1] != "storm" {
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() { defer wg.Done(); one() }()
			}
			wg.Wait()
		} else {
			sig := make(chan os.Signal, 64)
			signal.Notify(sig, syscall.SIGUSR1)
			stop := make(chan bool)
			go func() {
				t := time.NewTicker(time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						syscall.Kill(os.Getpid(), syscall.SIGUSR1)
					case <-sig:
					}
				}
			}()
			for i := 0; i < n; i++ {
				one()
			}
			close(stop)
		}
		if os.Args[1] == "timed" {
			fmt.Printf("ok=%d/%d ms=%.1f\n", ok, n, float64(time.Since(t0).Microseconds())/1000)
		} else {
			fmt.Printf("ok=%d/%d\n", ok, n)
		}
		for _, e := range errs {
			fmt.Println("err=" + e)
		}
	}
}

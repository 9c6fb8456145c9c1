// One program, many behaviours, chosen by the first word on stdin (compiled once per test run).
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
)

var sink int

func main() {
	r := bufio.NewReader(os.Stdin)
	var cmd string
	fmt.Fscan(r, &cmd)
	switch cmd {
	case "add":
		var a, b int64
		fmt.Fscan(r, &a, &b)
		fmt.Println(a + b)
	case "loop":
		for {
			sink++
		}
	case "crash":
		panic("boom")
	case "fork":
		for {
			exec.Command("/bin/sleep", "100").Start()
		}
	case "net":
		var port int
		fmt.Fscan(r, &port)
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			fmt.Println("blocked")
			return
		}
		c.Write([]byte("leak"))
		fmt.Println("connected")
	case "write":
		var p string
		fmt.Fscan(r, &p)
		if err := os.WriteFile(p, []byte("evil"), 0o644); err != nil {
			fmt.Println("blocked")
			return
		}
		fmt.Println("written")
	case "mem":
		var keep [][]byte
		for {
			b := make([]byte, 64<<20)
			for i := range b {
				b[i] = 1
			}
			keep = append(keep, b)
		}
	default:
		os.Exit(2)
	}
}

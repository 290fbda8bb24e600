package guard

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func readAll(t testing.TB, in string) ([]sseMessage, error) {
	p := newSSEReader(strings.NewReader(in))
	var out []sseMessage
	for {
		m, err := p.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		out = append(out, m)
	}
}

func TestSSEParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []sseMessage
	}{
		{"event", "id: 7\nevent: session-revoked\ndata: a.b.c\n\n",
			[]sseMessage{{id: "7", hasID: true, event: "session-revoked", data: "a.b.c"}}},
		{"CRLF", "id: 7\r\nevent: x\r\ndata: d\r\n\r\n", []sseMessage{{id: "7", hasID: true, event: "x", data: "d"}}},
		{"CR", "id: 7\revent: x\rdata: d\r\r", []sseMessage{{id: "7", hasID: true, event: "x", data: "d"}}},
		{"comment", ": heartbeat\n\n", []sseMessage{{comment: true, data: " heartbeat"}}},
		{"multi-line data", "data: a\ndata: b\n\n", []sseMessage{{data: "a\nb"}}},
		{"no space after colon", "data:x\n\n", []sseMessage{{data: "x"}}},
		{"two spaces keep one", "data:  x\n\n", []sseMessage{{data: " x"}}},
		{"field without colon", "data\n\n", []sseMessage{{data: ""}}},
		{"unknown field and retry ignored", "retry: 1000\nfoo: bar\n\n", nil},
		{"id with NUL ignored", "id: 1\x002\ndata: x\n\n", []sseMessage{{data: "x"}}},
		{"incomplete event at EOF is dropped", "data: x\n", nil},
		{"blank lines alone dispatch nothing", "\n\n\n", nil},
		{"id alone still counts", "id: 9\n\n", []sseMessage{{id: "9", hasID: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(t, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestSSELimits(t *testing.T) {
	if _, err := readAll(t, "data: "+strings.Repeat("x", maxSSELine+1)+"\n\n"); !errors.Is(err, errSSETooLarge) {
		t.Errorf("long line: %v", err)
	}
	in := strings.Repeat("data: "+strings.Repeat("x", 1000)+"\n", maxSSEData/1000+1) + "\n"
	if _, err := readAll(t, in); !errors.Is(err, errSSETooLarge) {
		t.Errorf("large event: %v", err)
	}
}

// FuzzSSE: no input panics or exceeds the limits, and line endings do not
// change what is parsed.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{
		"id: 1\nevent: session-revoked\ndata: x\n\n", ": heartbeat\n\n", "data\r\n\r\n", "id: \x00\n\n",
		"event: sync\nid: 4\ndata: {\"seq\":4}\n\n", "\r\r\n\n", "data:a\rdata:b\r\r",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := readAll(t, in)
		for _, m := range got {
			if len(m.data) > maxSSEData || len(m.event) > maxSSELine || len(m.id) > maxSSELine {
				t.Fatalf("message over the limits: %d bytes of data", len(m.data))
			}
		}
		if err != nil || strings.Contains(in, "\r") {
			return
		}
		crlf, err := readAll(t, strings.ReplaceAll(in, "\n", "\r\n"))
		if err != nil || !reflect.DeepEqual(got, crlf) {
			t.Fatalf("LF and CRLF parse differently: %+v vs %+v (%v)", got, crlf, err)
		}
	})
}

package guard

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Limits on what the feed may send. latch's messages are far smaller; a
// larger one means something is wrong, and the connection is dropped.
const (
	maxSSELine = 16 << 10
	maxSSEData = 16 << 10
)

var errSSETooLarge = errors.New("guard: event stream line or event too large")

// sseMessage is one dispatched Server-Sent Event, or one comment line
// (latch's heartbeats are comments).
type sseMessage struct {
	comment bool
	id      string
	hasID   bool
	event   string
	data    string
}

// sseReader parses text/event-stream as the WHATWG HTML standard's
// "Interpreting an event stream" describes: lines end in CRLF, LF or CR; a
// blank line dispatches; "field: value" with one optional space; data lines
// join with LF; an id containing NUL is ignored; unknown fields are ignored.
type sseReader struct {
	r      *bufio.Reader
	skipLF bool // the previous line ended in CR: a following LF belongs to it
	line   []byte

	id     string
	hasID  bool
	event  string
	data   []byte
	inData bool
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 4096)}
}

// readLine returns the next line without its terminator. A CR is treated
// as the end of a line at once, without waiting to see whether LF follows,
// so a stream that ends its lines in CR is never stalled.
func (p *sseReader) readLine() ([]byte, error) {
	p.line = p.line[:0]
	for {
		b, err := p.r.ReadByte()
		if err != nil {
			return nil, err
		}
		if p.skipLF {
			p.skipLF = false
			if b == '\n' {
				continue
			}
		}
		switch b {
		case '\r':
			p.skipLF = true
			return p.line, nil
		case '\n':
			return p.line, nil
		}
		if len(p.line) >= maxSSELine {
			return nil, errSSETooLarge
		}
		p.line = append(p.line, b)
	}
}

// next returns the next comment or dispatched event. A UTF-8 byte order
// mark at the very start is not expected from latch and is not stripped.
func (p *sseReader) next() (sseMessage, error) {
	for {
		line, err := p.readLine()
		if err != nil {
			return sseMessage{}, err
		}
		if len(line) == 0 {
			m := sseMessage{id: p.id, hasID: p.hasID, event: p.event, data: string(bytes.TrimSuffix(p.data, []byte("\n")))}
			dispatch := p.inData || p.hasID
			p.event, p.data, p.inData, p.hasID = "", p.data[:0], false, false
			if dispatch {
				return m, nil
			}
			continue
		}
		if line[0] == ':' {
			return sseMessage{comment: true, data: string(line[1:])}, nil
		}
		field, value, found := bytes.Cut(line, []byte(":"))
		if found && len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		switch string(field) {
		case "event":
			p.event = string(value)
		case "data":
			if len(p.data)+len(value)+1 > maxSSEData {
				return sseMessage{}, errSSETooLarge
			}
			p.data = append(append(p.data, value...), '\n')
			p.inData = true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				p.id, p.hasID = string(value), true
			}
		}
	}
}

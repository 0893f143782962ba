package worker_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// wiretap is a MongoDB wire-protocol proxy on loopback that counts what goes through it: each
// command a client sends (a round trip), by name and collection, the documents an insert
// carries, and the bytes of the request and of its reply as they are on the wire.
//
// It measures a whole webhookd worker, which opens its store with no way to hand the driver a
// command monitor (worker.Options has none): the worker is pointed at the tap's URI instead of
// the server's. TestRoundTripTapAgreesWithTheCommandMonitor checks it against the driver's own
// event.CommandMonitor.
type wiretap struct {
	URI string // the server's URI with the tap's address, and directConnection=true

	target string
	ln     net.Listener

	mu    sync.Mutex
	stats map[command]commandStats
	docs  map[command][]int64 // the documents of each call that carried some, in order
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// command names a command and the collection it works on (empty for commands on none, such as
// hello).
type command struct{ Name, Collection string }

func (c command) String() string {
	if c.Collection == "" {
		return c.Name
	}
	return c.Name + " " + c.Collection
}

// commandStats counts one command.
type commandStats struct {
	Calls        int64 // requests sent
	Replies      int64
	Docs         int64 // documents carried: an insert's documents, an update's or delete's statements
	RequestBytes int64 // whole wire messages, headers included
	ReplyBytes   int64
}

func (s commandStats) add(o commandStats) commandStats {
	return commandStats{s.Calls + o.Calls, s.Replies + o.Replies, s.Docs + o.Docs,
		s.RequestBytes + o.RequestBytes, s.ReplyBytes + o.ReplyBytes}
}

func (s commandStats) sub(o commandStats) commandStats {
	return commandStats{s.Calls - o.Calls, s.Replies - o.Replies, s.Docs - o.Docs,
		s.RequestBytes - o.RequestBytes, s.ReplyBytes - o.ReplyBytes}
}

// newWiretap starts a tap in front of the server of uri: a plain (no TLS) URI of a single host,
// as FerretDB's is. It stops when the test ends, after anything started later (the worker).
func newWiretap(t testing.TB, uri string) *wiretap {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "mongodb" || strings.Contains(u.Host, ",") {
		t.Skipf("the wire tap needs a mongodb:// URI of one host, not %s", u.Redacted())
	}
	q := u.Query()
	if q.Get("tls") == "true" || q.Get("ssl") == "true" {
		t.Skip("the wire tap cannot read TLS")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tap := &wiretap{target: u.Host, ln: ln, stats: map[command]commandStats{}, docs: map[command][]int64{},
		conns: map[net.Conn]struct{}{}}
	u.Host = ln.Addr().String()
	q.Set("directConnection", "true") // the driver must not go around the tap to the hosts it learns of
	u.RawQuery = q.Encode()
	tap.URI = u.String()
	tap.wg.Add(1)
	go tap.accept()
	t.Cleanup(tap.close)
	return tap
}

// Snapshot returns the counts so far.
func (tap *wiretap) Snapshot() map[command]commandStats {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	return maps.Clone(tap.stats)
}

// since returns what was counted between the snapshot before and now.
func (tap *wiretap) since(before map[command]commandStats) map[command]commandStats {
	out := tap.Snapshot()
	for c, s := range before {
		out[c] = out[c].sub(s)
		if out[c] == (commandStats{}) {
			delete(out, c)
		}
	}
	return out
}

func (tap *wiretap) close() {
	_ = tap.ln.Close()
	tap.mu.Lock()
	for c := range tap.conns {
		_ = c.Close()
	}
	tap.mu.Unlock()
	tap.wg.Wait()
}

func (tap *wiretap) accept() {
	defer tap.wg.Done()
	for {
		client, err := tap.ln.Accept()
		if err != nil {
			return // closed
		}
		server, err := net.Dial("tcp", tap.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		tap.mu.Lock()
		tap.conns[client], tap.conns[server] = struct{}{}, struct{}{}
		tap.mu.Unlock()
		// Requests by id, for their replies; the driver sends one request at a time on a
		// connection, but a streaming hello's replies come without requests.
		pending := &pendingCommands{byID: map[int32]command{}}
		tap.wg.Add(2)
		go tap.pump(client, server, pending, true)
		go tap.pump(server, client, pending, false)
	}
}

// pump copies whole wire messages from src to dst, counting them, until either side closes;
// then it closes both.
func (tap *wiretap) pump(src, dst net.Conn, pending *pendingCommands, requests bool) {
	defer tap.wg.Done()
	defer func() {
		_ = src.Close()
		_ = dst.Close()
		tap.mu.Lock()
		delete(tap.conns, src)
		delete(tap.conns, dst)
		tap.mu.Unlock()
	}()
	for {
		msg, err := readWireMessage(src)
		if err != nil {
			return
		}
		h := parseHeader(msg)
		if requests {
			c, docs := parseCommand(h.opCode, msg[16:])
			pending.put(h.requestID, c)
			tap.count(c, commandStats{Calls: 1, Docs: docs, RequestBytes: int64(len(msg))})
		} else {
			c := pending.take(h.responseTo)
			if h.opCode == opMsg && len(msg) >= 20 && binary.LittleEndian.Uint32(msg[16:])&msgMoreToCome != 0 {
				pending.put(h.requestID, c) // a streamed reply: the next answers this one
			}
			tap.count(c, commandStats{Replies: 1, ReplyBytes: int64(len(msg))})
		}
		if _, err := dst.Write(msg); err != nil {
			return
		}
	}
}

func (tap *wiretap) count(c command, s commandStats) {
	tap.mu.Lock()
	tap.stats[c] = tap.stats[c].add(s)
	if s.Docs > 0 {
		tap.docs[c] = append(tap.docs[c], s.Docs)
	}
	tap.mu.Unlock()
}

// docsPerCall returns the documents of each call of c that carried some, after the first skip.
func (tap *wiretap) docsPerCall(c command, skip int) []int64 {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	return slices.Clone(tap.docs[c][min(skip, len(tap.docs[c])):])
}

type pendingCommands struct {
	mu   sync.Mutex
	byID map[int32]command
}

func (p *pendingCommands) put(id int32, c command) {
	p.mu.Lock()
	p.byID[id] = c
	p.mu.Unlock()
}

func (p *pendingCommands) take(id int32) command {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.byID[id]
	if !ok {
		return command{Name: "(unmatched reply)"}
	}
	delete(p.byID, id)
	return c
}

// The wire protocol's op codes and OP_MSG flags (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/).
const (
	opQuery         = 2004
	opCompressed    = 2012
	opMsg           = 2013
	msgChecksum     = 1 << 0
	msgMoreToCome   = 1 << 1
	maxWireMessage  = 48 << 20
	sectionBody     = 0
	sectionSequence = 1
)

type wireHeader struct {
	length, requestID, responseTo, opCode int32
}

func parseHeader(msg []byte) wireHeader {
	le := binary.LittleEndian
	return wireHeader{int32(le.Uint32(msg)), int32(le.Uint32(msg[4:])), int32(le.Uint32(msg[8:])), int32(le.Uint32(msg[12:]))}
}

func readWireMessage(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := int(binary.LittleEndian.Uint32(size[:]))
	if n < 16 || n > maxWireMessage {
		return nil, fmt.Errorf("wire message of %d bytes", n)
	}
	msg := make([]byte, n)
	copy(msg, size[:])
	if _, err := io.ReadFull(r, msg[4:]); err != nil {
		return nil, err
	}
	return msg, nil
}

// parseCommand names the command of a request's body (after the header) and counts the
// documents it carries: those of its document sequences (OP_MSG kind 1 sections) or of the
// array its command names (documents, updates, deletes) when they are in the body.
func parseCommand(opCode int32, body []byte) (command, int64) {
	var doc bson.Raw
	var seqDocs int64
	switch opCode {
	case opMsg:
		if len(body) < 4 {
			return command{Name: "(short OP_MSG)"}, 0
		}
		flags := binary.LittleEndian.Uint32(body)
		rest := body[4:]
		if flags&msgChecksum != 0 && len(rest) >= 4 {
			rest = rest[:len(rest)-4]
		}
		for len(rest) > 0 {
			kind := rest[0]
			rest = rest[1:]
			if len(rest) < 4 {
				return command{Name: "(bad OP_MSG)"}, 0
			}
			size := int(binary.LittleEndian.Uint32(rest))
			if size < 4 || size > len(rest) {
				return command{Name: "(bad OP_MSG)"}, 0
			}
			switch kind {
			case sectionBody:
				doc = bson.Raw(rest[:size])
			case sectionSequence:
				seq := rest[4:size]
				if i := bytes.IndexByte(seq, 0); i >= 0 {
					seqDocs += countDocuments(seq[i+1:])
				}
			}
			rest = rest[size:]
		}
	case opQuery: // the driver's first handshake: flags, collection name, skip, limit, query
		rest := body
		if len(rest) < 4 {
			return command{Name: "(short OP_QUERY)"}, 0
		}
		rest = rest[4:]
		i := bytes.IndexByte(rest, 0)
		if i < 0 || len(rest) < i+1+8 {
			return command{Name: "(bad OP_QUERY)"}, 0
		}
		doc = bson.Raw(rest[i+1+8:])
	case opCompressed:
		return command{Name: "(compressed)"}, 0
	default:
		return command{Name: fmt.Sprintf("(op %d)", opCode)}, 0
	}
	elems, err := doc.Elements()
	if err != nil || len(elems) == 0 {
		return command{Name: "(unreadable)"}, seqDocs
	}
	c := command{Name: elems[0].Key()}
	if s, ok := elems[0].Value().StringValueOK(); ok {
		c.Collection = s
	}
	if seqDocs == 0 {
		for _, key := range []string{"documents", "updates", "deletes"} {
			if arr, ok := doc.Lookup(key).ArrayOK(); ok {
				vals, _ := arr.Values()
				seqDocs += int64(len(vals))
			}
		}
	}
	return c, seqDocs
}

// countDocuments counts the BSON documents laid end to end in b.
func countDocuments(b []byte) int64 {
	var n int64
	for len(b) >= 4 {
		size := int(binary.LittleEndian.Uint32(b))
		if size < 5 || size > len(b) {
			break
		}
		n++
		b = b[size:]
	}
	return n
}

// sortedCommands returns the commands of stats, most calls first.
func sortedCommands(stats map[command]commandStats) []command {
	cs := slices.Collect(maps.Keys(stats))
	slices.SortFunc(cs, func(a, b command) int {
		if d := stats[b].Calls - stats[a].Calls; d != 0 {
			return int(d)
		}
		return strings.Compare(a.String(), b.String())
	})
	return cs
}

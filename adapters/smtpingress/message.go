package smtpingress

import (
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
	// Registers the decoders of non-UTF-8 charsets (ISO-8859-*, Windows-125x,
	// Shift_JIS, ...) for bodies and RFC 2047 encoded headers alike.
	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
)

const (
	// maxPartBytes bounds how much of one text part is read into memory.
	// An alert keeps 6144 characters of details; even HTML whose markup
	// dwarfs its text yields more than that from 1 MiB.
	maxPartBytes = 1 << 20
	// maxTextBytes stops collecting text parts once this much is held.
	maxTextBytes = 4 * maxPartBytes

	noSubject  = "(no subject)"
	unreadable = "(unreadable email)"
)

// email is what an alert is made from.
type email struct {
	Subject string // decoded (RFC 2047), on one line
	From    string // the sender's address from the From header, "" when there is none
	Body    string // the text a person would read
}

// readEmail parses a message from r and returns its subject, sender and
// body text. The body is the message's inline text/plain parts, or, when
// it has none, its HTML parts reduced to text; attachments are skipped
// without being read into memory. Transfer encodings (quoted-printable,
// base64) and charsets are decoded, and bytes that are still not UTF-8 are
// read as ISO-8859-1, the usual charset of mail that declares none.
//
// Malformed mail is read as far as it goes: an alert from a half-broken
// message still pages someone, and its sender is a program nobody will
// fix. Only a header that cannot be parsed at all yields an error, with an
// email describing the problem, so the caller can still raise the alert.
// r is not read to its end; the caller drains it.
func readEmail(r io.Reader) (email, error) {
	// This is mail.CreateReader, except that a top-level Content-Transfer-
	// Encoding it does not know does not discard the parsed header.
	e, err := message.Read(r)
	if e == nil {
		return email{Subject: unreadable, Body: "The message header could not be parsed: " + err.Error()}, err
	}
	mr := mail.NewReader(e)
	defer mr.Close()

	var m email
	// On a decoding error (an unknown charset) Subject and Text return the
	// raw field, which is still the best summary there is.
	subject, _ := mr.Header.Subject()
	m.Subject = clean(strings.Join(strings.Fields(toUTF8([]byte(subject))), " "))
	if m.Subject == "" {
		m.Subject = noSubject
	}
	if from, err := mr.Header.AddressList("From"); err == nil && len(from) > 0 {
		m.From = clean(from[0].Address)
	} else {
		raw, _ := mr.Header.Text("From")
		m.From = clean(strings.TrimSpace(toUTF8([]byte(raw))))
	}

	var plain, htmlParts []string
	held := 0
	for held < maxTextBytes {
		p, err := mr.NextPart()
		if p == nil || errors.Is(err, io.EOF) {
			// The end, or a multipart structure or transfer encoding that
			// cannot be read any further: keep what was found.
			break
		}
		h, ok := p.Header.(*mail.InlineHeader)
		if !ok || hasFilename(h.Header) {
			continue // an attachment, even one sent as inline text
		}
		t, _, _ := h.ContentType()
		t = strings.ToLower(strings.TrimSpace(strings.Split(t, ";")[0]))
		if t != "text/plain" && t != "text/html" {
			continue
		}
		// A decoding error midway (corrupt base64) keeps the text before it.
		b, _ := io.ReadAll(io.LimitReader(p.Body, maxPartBytes))
		held += len(b)
		s := toUTF8(b)
		if t == "text/plain" {
			plain = append(plain, s)
		} else {
			htmlParts = append(htmlParts, s)
		}
	}
	if len(plain) == 0 {
		for _, s := range htmlParts {
			plain = append(plain, htmlToText(s))
		}
	}
	var texts []string
	for _, s := range plain {
		if s = strings.TrimSpace(clean(s)); s != "" {
			texts = append(texts, s)
		}
	}
	m.Body = strings.Join(texts, "\n\n")
	return m, nil
}

// hasFilename reports whether a part names a file, which makes it an
// attachment whatever its disposition says.
func hasFilename(h message.Header) bool {
	_, params, _ := h.ContentDisposition()
	if params["filename"] != "" {
		return true
	}
	_, params, _ = h.ContentType()
	return params["name"] != ""
}

// toUTF8 returns b as a string, read as Windows-1252 (the superset of
// ISO-8859-1 that mail clients mean by it) when it is not valid UTF-8: a
// part or header without a charset, or with one nobody could decode.
func toUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
		if 0x80 <= c && c < 0xa0 {
			r[i] = cp1252[c-0x80]
		}
	}
	return string(r)
}

// cp1252 maps the bytes 0x80-0x9F of Windows-1252 (curly quotes, dashes,
// the euro sign); its five unassigned bytes stay C1 controls, which clean
// removes.
var cp1252 = [32]rune{
	'€', 0x81, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0x8d, 'Ž', 0x8f,
	0x90, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0x9d, 'ž', 'Ÿ',
}

// clean normalizes line ends to "\n" and removes invalid UTF-8 and the
// control characters other than tab and newline: NUL cannot be stored, and
// the others only garble a screen.
func clean(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\t' || r == '\n':
			return r
		case r < 0x20 || (0x7f <= r && r < 0xa0):
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

package emailtest

import (
	"errors"
	"fmt"
	"io"
	"strings"

	gomail "github.com/emersion/go-message/mail"
)

// Part is one text part of a message, decoded.
type Part struct {
	// ContentType is the media type ("text/plain"); Charset its charset
	// parameter and TransferEncoding its Content-Transfer-Encoding, as
	// sent.
	ContentType      string
	Charset          string
	TransferEncoding string
	// Body is the decoded content, in UTF-8, with \n line ends.
	Body string
}

// Parsed is a message read back: its header and its text parts.
type Parsed struct {
	Header gomail.Header
	// ContentType is the top-level media type ("multipart/alternative").
	ContentType string
	// Subject is the decoded Subject.
	Subject string
	Parts   []Part
}

// Text is the body of the first text/plain part, or "".
func (p Parsed) Text() string { return p.body("text/plain") }

// HTML is the body of the first text/html part, or "".
func (p Parsed) HTML() string { return p.body("text/html") }

func (p Parsed) body(typ string) string {
	for _, part := range p.Parts {
		if part.ContentType == typ {
			return part.Body
		}
	}
	return ""
}

func parse(r io.Reader) (Parsed, error) {
	mr, err := gomail.CreateReader(r)
	if err != nil {
		return Parsed{}, fmt.Errorf("read message: %w", err)
	}
	defer mr.Close()
	p := Parsed{Header: mr.Header}
	p.ContentType, _, _ = mr.Header.ContentType()
	if p.Subject, err = mr.Header.Subject(); err != nil {
		return Parsed{}, fmt.Errorf("read subject: %w", err)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return p, nil
		}
		if err != nil {
			return Parsed{}, fmt.Errorf("read part: %w", err)
		}
		h, ok := part.Header.(*gomail.InlineHeader)
		if !ok {
			continue
		}
		typ, params, _ := h.ContentType()
		body, err := io.ReadAll(part.Body)
		if err != nil {
			return Parsed{}, fmt.Errorf("read %s part: %w", typ, err)
		}
		p.Parts = append(p.Parts, Part{
			ContentType: typ, Charset: params["charset"],
			TransferEncoding: h.Get("Content-Transfer-Encoding"),
			Body:             strings.ReplaceAll(string(body), "\r\n", "\n"),
		})
	}
}

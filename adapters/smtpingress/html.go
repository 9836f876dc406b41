package smtpingress

import (
	"html"
	"strings"
	"unicode"
)

// htmlBlocks are the elements that start a new line when an HTML body is
// reduced to text, so a table row or paragraph does not run into the next.
var htmlBlocks = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "br": true, "dd": true,
	"div": true, "dl": true, "dt": true, "fieldset": true, "figcaption": true, "figure": true,
	"footer": true, "form": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true,
	"h6": true, "header": true, "hr": true, "li": true, "main": true, "nav": true, "ol": true,
	"p": true, "pre": true, "section": true, "table": true, "tbody": true, "tfoot": true,
	"thead": true, "tr": true, "ul": true,
}

// htmlCells separate their content from the neighbours' on the same line.
var htmlCells = map[string]bool{"td": true, "th": true}

// htmlHidden are the elements whose content a reader never sees.
var htmlHidden = map[string]bool{"head": true, "script": true, "style": true, "template": true, "title": true}

// sourceBreaks are line breaks in HTML source, which render as spaces.
var sourceBreaks = strings.NewReplacer("\r", " ", "\n", " ")

// htmlToText reduces an HTML body to what a person would read in it: tags
// and comments removed, the content of head, script and style dropped,
// entities decoded, block elements (paragraphs, rows, line breaks) on lines
// of their own, table cells side by side, and whitespace collapsed as a
// browser would (line breaks in the source are spaces, except in pre).
// It never fails; broken markup degrades to text. Monitoring tools that
// send HTML-only mail put the alert in the visible text, so this is enough
// for a page, and it needs no HTML parser.
func htmlToText(s string) string {
	var b strings.Builder
	pre := 0
	text := func(t string) {
		t = html.UnescapeString(t)
		if pre == 0 {
			t = sourceBreaks.Replace(t)
		}
		b.WriteString(t)
	}
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			text(s)
			break
		}
		text(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "<!--"):
			end := strings.Index(s[4:], "-->")
			if end < 0 {
				s = ""
			} else {
				s = s[4+end+3:]
			}
			continue
		case len(s) < 2 || !startsTag(s[1]):
			// "a < b" in text written without escaping.
			b.WriteByte('<')
			s = s[1:]
			continue
		}
		end := tagEnd(s)
		if end < 0 {
			break // an unterminated tag at the end hides nothing worth keeping
		}
		name, closing := tagName(s[1:end])
		s = s[end+1:]
		if htmlHidden[name] && !closing {
			s = skipElement(s, name)
			continue
		}
		switch {
		case name == "pre" && closing:
			pre = max(pre-1, 0)
		case name == "pre":
			pre++
		}
		switch {
		case htmlBlocks[name]:
			b.WriteByte('\n')
		case htmlCells[name]:
			b.WriteByte(' ')
		}
	}
	return collapseSpace(b.String())
}

func startsTag(c byte) bool {
	return c == '/' || c == '!' || c == '?' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// tagEnd returns the index of the '>' closing the tag that starts s,
// skipping quoted attribute values, or -1.
func tagEnd(s string) int {
	var quote byte
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i
		}
	}
	return -1
}

// tagName returns the lower-cased element name of a tag's inside ("/p",
// "br/", "td class=x") and whether it closes an element.
func tagName(tag string) (string, bool) {
	closing := strings.HasPrefix(tag, "/")
	tag = strings.TrimPrefix(tag, "/")
	end := strings.IndexFunc(tag, func(r rune) bool { return unicode.IsSpace(r) || r == '/' })
	if end >= 0 {
		tag = tag[:end]
	}
	return strings.ToLower(tag), closing
}

// skipElement returns s after the end tag of name, or "" when it has none.
func skipElement(s, name string) string {
	for i := 0; ; i += 2 {
		j := strings.Index(s[i:], "</")
		if j < 0 {
			return ""
		}
		i += j
		// "</style" must not match "</styles": the name ends at '>' or space.
		after := i + 2 + len(name)
		if after <= len(s) && strings.EqualFold(s[i+2:after], name) &&
			(after == len(s) || s[after] == '>' || s[after] == '/' || unicode.IsSpace(rune(s[after]))) {
			end := tagEnd(s[i:])
			if end < 0 {
				return ""
			}
			return s[i+end+1:]
		}
	}
}

// collapseSpace turns each run of whitespace within a line (no-break
// spaces from &nbsp; included) into one space, trims every line and drops
// empty ones: an alert's details are read on a phone, where blank lines
// left by nested markup only push the content off the screen.
func collapseSpace(s string) string {
	var lines []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.Join(strings.FieldsFunc(line, unicode.IsSpace), " "); line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

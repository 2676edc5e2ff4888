package expr

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/scim2/filter-parser/v2"
)

// Limits on what ParseFilter and ParsePath accept. They bound the work a
// single request can cause here, in the evaluator and in the SQL built from
// the AST (RFC 7644 §7 asks servers to guard against expensive filters).
const (
	// MaxFilterLength is the longest filter or path accepted, in bytes.
	MaxFilterLength = 4096
	// MaxDepth is how deeply parentheses, not(…) and value filters may nest.
	MaxDepth = 16
	// MaxTerms is the most comparisons (including pr) one filter may hold.
	MaxTerms = 64
)

// ErrTooComplex is wrapped by the error returned when a filter or path
// exceeds MaxFilterLength, MaxDepth or MaxTerms.
var ErrTooComplex = errors.New("filter too complex")

// SyntaxError reports a filter or path that does not follow the grammar of
// RFC 7644. Its message is safe to show to a SCIM client.
type SyntaxError struct {
	Offset int    // byte offset in the input where the problem was found
	Msg    string // what was expected or found there

	path bool // the input was a PATCH path, not a filter
}

func (e *SyntaxError) Error() string {
	what := "filter"
	if e.path {
		what = "path"
	}
	return fmt.Sprintf("invalid %s at offset %d: %s", what, e.Offset, e.Msg)
}

// ParseFilter parses a SCIM filter (RFC 7644 §3.4.2.2) into the AST of
// github.com/scim2/filter-parser/v2.
//
// Beyond the RFC grammar it accepts the form attr[valFilter].sub op value,
// which Microsoft's SCIM Validator sends, and returns it as the equivalent
// attr[valFilter and sub op value].
//
// Compare values are JSON, as RFC 7644 Figure 1 says: a string in double
// quotes, a number, true, false or null (the literals in any case, like the
// other keywords). It also accepts unquoted compare values (userName eq
// bjensen), as Microsoft's SCIM reference sends them: a bare word that is
// not true, false, null or a JSON number is a string, unless it holds a
// quotation mark ('bjensen' is an error). A value is followed by white
// space, ")", "]" or the end. Compare values are string (JSON escapes decoded), bool, nil, int for
// integers that fit in an int, json.Number for integers that do not (so they
// keep every digit), and float64 for numbers with a fraction or exponent.
// Attribute names and URIs are kept as written; operators are lower-cased.
//
// Errors are a *SyntaxError, or wrap ErrTooComplex when a limit is hit.
func ParseFilter(s string) (filter.Expression, error) {
	return parseFilter(s, defaultLimits)
}

// ParsePath parses the path of a PATCH operation (RFC 7644 §3.5.2):
// attrPath, attrPath[valFilter] or attrPath[valFilter].subAttr, each with an
// optional schema URN prefix. Surrounding white space is ignored.
//
// A bare schema URN such as
// urn:ietf:params:scim:schemas:extension:enterprise:2.0:User is returned as
// AttributePath{URIPrefix: "urn:…:enterprise:2.0", AttributeName: "User"},
// because the grammar cannot tell it from an attribute; Resolver.Schema
// recognises it.
func ParsePath(s string) (filter.Path, error) {
	return parsePath(s, defaultLimits)
}

type limits struct{ length, depth, terms int }

var defaultLimits = limits{MaxFilterLength, MaxDepth, MaxTerms}

type parser struct {
	s          string
	pos        int
	lim        limits
	depth      int
	terms      int
	inBrackets bool
	path       bool
}

func parseFilter(s string, lim limits) (filter.Expression, error) {
	p := &parser{s: s, lim: lim}
	if err := p.checkInput(); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf("empty filter")
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.unexpected()
	}
	return e, nil
}

func parsePath(s string, lim limits) (filter.Path, error) {
	p := &parser{s: s, lim: lim, path: true}
	if err := p.checkInput(); err != nil {
		return filter.Path{}, err
	}
	p.skipSpace()
	if p.eof() {
		return filter.Path{}, p.errorf("empty path")
	}
	start := p.pos
	ap, err := p.parseAttrPath()
	if err != nil {
		return filter.Path{}, err
	}
	path := filter.Path{AttributePath: ap}
	if p.peek() == '[' {
		vf, err := p.parseValueFilter(ap, start)
		if err != nil {
			return filter.Path{}, err
		}
		path.ValueExpression = vf
		if p.peek() == '.' {
			p.pos++
			sub, err := p.parseName()
			if err != nil {
				return filter.Path{}, err
			}
			path.SubAttribute = &sub
		}
	}
	p.skipSpace()
	if !p.eof() {
		return filter.Path{}, p.errorf("unexpected %s after path", p.near())
	}
	return path, nil
}

// checkInput enforces the length limit and rejects invalid UTF-8 up front, so
// that every string in the AST is valid UTF-8 (PostgreSQL rejects anything else).
func (p *parser) checkInput() error {
	if len(p.s) > p.lim.length {
		return fmt.Errorf("%w: longer than %d bytes", ErrTooComplex, p.lim.length)
	}
	if !utf8.ValidString(p.s) {
		for i, r := range p.s {
			if r == utf8.RuneError {
				if _, size := utf8.DecodeRuneInString(p.s[i:]); size == 1 {
					p.pos = i
					break
				}
			}
		}
		return p.errorf("invalid UTF-8")
	}
	return nil
}

// parseOr parses and-terms joined by "or"; the result is left-associative.
func (p *parser) parseOr() (filter.Expression, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = &filter.LogicalExpression{Left: left, Right: right, Operator: filter.OR}
	}
	return left, nil
}

// parseAnd parses terms joined by "and"; the result is left-associative.
func (p *parser) parseAnd() (filter.Expression, error) {
	left, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		right, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		left = &filter.LogicalExpression{Left: left, Right: right, Operator: filter.AND}
	}
	return left, nil
}

// keyword consumes white space and the logical keyword kw if they come next.
// The keyword must be a whole word, followed by white space or "(". What
// precedes it is white space, ")" or "]": parseComparison refuses anything
// else right after a value.
func (p *parser) keyword(kw string) bool {
	save := p.pos
	p.skipSpace()
	end := p.pos + len(kw)
	if end <= len(p.s) && strings.EqualFold(p.s[p.pos:end], kw) &&
		(end == len(p.s) || isSpace(p.s[end]) || p.s[end] == '(') {
		p.pos = end
		return true
	}
	p.pos = save
	return false
}

// parseTerm parses a group, a not(…), a value path or a comparison.
func (p *parser) parseTerm() (filter.Expression, error) {
	p.skipSpace()
	start := p.pos
	if p.peek() == '(' {
		p.pos++
		return p.parseNested(')')
	}
	if p.eof() || !isPathChar(p.s[p.pos]) {
		return nil, p.errorf("expected an attribute name, found %s", p.near())
	}
	// "not" is a keyword only when "(" follows; otherwise it is an attribute name.
	if end := p.pos + 3; end <= len(p.s) && strings.EqualFold(p.s[p.pos:end], "not") &&
		(end == len(p.s) || !isPathChar(p.s[end])) {
		save := p.pos
		p.pos = end
		p.skipSpace()
		if p.peek() == '(' {
			p.pos++
			e, err := p.parseNested(')')
			if err != nil {
				return nil, err
			}
			return &filter.NotExpression{Expression: e}, nil
		}
		p.pos = save
	}
	ap, err := p.parseAttrPath()
	if err != nil {
		return nil, err
	}
	if p.peek() != '[' {
		return p.parseComparison(ap)
	}
	vf, err := p.parseValueFilter(ap, start)
	if err != nil {
		return nil, err
	}
	if p.peek() != '.' {
		return &filter.ValuePath{AttributePath: ap, ValueFilter: vf}, nil
	}
	// attr[valFilter].sub op value means the same as attr[valFilter and sub op value].
	p.pos++
	sub, err := p.parseName()
	if err != nil {
		return nil, err
	}
	cmp, err := p.parseComparison(filter.AttributePath{AttributeName: sub})
	if err != nil {
		return nil, err
	}
	return &filter.ValuePath{
		AttributePath: ap,
		ValueFilter:   &filter.LogicalExpression{Left: vf, Right: cmp, Operator: filter.AND},
	}, nil
}

// parseNested parses a filter after an opening "(" or "[" up to its closing byte.
func (p *parser) parseNested(closing byte) (filter.Expression, error) {
	p.depth++
	if p.depth > p.lim.depth {
		return nil, fmt.Errorf("%w: nested deeper than %d levels", ErrTooComplex, p.lim.depth)
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != closing {
		if p.eof() {
			return nil, p.errorf("missing \"%c\"", closing)
		}
		return nil, p.errorf("expected \"%c\", \"and\" or \"or\", found %s", closing, p.near())
	}
	p.pos++
	p.depth--
	return e, nil
}

// parseValueFilter parses "[valFilter]" after the attribute path ap, which
// started at offset start.
func (p *parser) parseValueFilter(ap filter.AttributePath, start int) (filter.Expression, error) {
	if p.inBrackets {
		return nil, p.errorf("value filters cannot be nested")
	}
	if ap.SubAttribute != nil {
		p.pos = start
		return nil, p.errorf("a value filter must follow an attribute, not a sub-attribute")
	}
	p.pos++
	p.inBrackets = true
	e, err := p.parseNested(']')
	p.inBrackets = false
	return e, err
}

// parseComparison parses " op value" or " pr" after the attribute path ap.
func (p *parser) parseComparison(ap filter.AttributePath) (filter.Expression, error) {
	name := pathString(ap)
	if !p.skipSpace() {
		return nil, p.errorf("expected a comparison operator after %q", name)
	}
	opStart := p.pos
	for !p.eof() && isAlpha(p.s[p.pos]) {
		p.pos++
	}
	word := p.s[opStart:p.pos]
	if word == "" || (!p.eof() && !isSpace(p.s[p.pos]) && p.s[p.pos] != ')' && p.s[p.pos] != ']') {
		p.pos = opStart
		return nil, p.errorf("expected a comparison operator after %q, found %s", name, p.near())
	}
	op := filter.CompareOperator(strings.ToLower(word))
	if !knownOperator(op) {
		p.pos = opStart
		return nil, p.errorf("unknown operator %q", word)
	}
	p.terms++
	if p.terms > p.lim.terms {
		return nil, fmt.Errorf("%w: more than %d comparisons", ErrTooComplex, p.lim.terms)
	}
	if op == filter.PR {
		if p.valueFollows() {
			return nil, p.errorf("operator \"pr\" takes no value")
		}
		return &filter.AttributeExpression{AttributePath: ap, Operator: op}, nil
	}
	if !p.skipSpace() || p.eof() || p.peek() == ')' || p.peek() == ']' {
		return nil, p.errorf("missing value after %q", word)
	}
	v, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	// The grammar puts SP between a value and a following "and" or "or"; a
	// parser that did not insist would read "x"and b pr as "x" and b pr,
	// accepting a filter that other servers reject.
	if !p.eof() && !isSpace(p.peek()) && p.peek() != ')' && p.peek() != ']' {
		return nil, p.errorf("expected white space after the comparison value, found %s", p.near())
	}
	return &filter.AttributeExpression{AttributePath: ap, Operator: op, CompareValue: v}, nil
}

// valueFollows reports whether a quoted string, number or literal comes
// next, after white space, and moves to it if so. It tells "title pr "x""
// (a value where none belongs) from "a pr b pr" (a missing "and").
func (p *parser) valueFollows() bool {
	save := p.pos
	p.skipSpace()
	if p.peek() == '"' || p.peek() == '-' || isDigit(p.peek()) {
		return true
	}
	end := p.pos
	for end < len(p.s) && isAlpha(p.s[end]) {
		end++
	}
	switch strings.ToLower(p.s[p.pos:end]) {
	case "true", "false", "null":
		return true
	}
	p.pos = save
	return false
}

func knownOperator(op filter.CompareOperator) bool {
	switch op {
	case filter.EQ, filter.NE, filter.CO, filter.SW, filter.EW,
		filter.GT, filter.GE, filter.LT, filter.LE, filter.PR:
		return true
	}
	return false
}

// parseValue parses a compare value (compValue in RFC 7644 Figure 1): a
// JSON string, number, true, false or null; or an unquoted word, taken as a
// string, since Microsoft's SCIM reference server and its test collection
// send them (userName sw O, meta.created gt 2015-10-10T14:38:21-07:00). A
// word holding a quotation mark is an error, not a string: userName eq
// 'alice' taken as the string "'alice'" would quietly match nothing.
func (p *parser) parseValue() (any, error) {
	if p.peek() == '"' {
		return p.parseString()
	}
	start := p.pos
	for !p.eof() && !isSpace(p.s[p.pos]) && p.s[p.pos] != ')' && p.s[p.pos] != ']' {
		if p.s[p.pos] < 0x20 {
			return nil, p.errorf("control character in value")
		}
		p.pos++
	}
	tok := p.s[start:p.pos]
	switch {
	case strings.EqualFold(tok, "true"):
		return true, nil
	case strings.EqualFold(tok, "false"):
		return false, nil
	case strings.EqualFold(tok, "null"):
		return nil, nil
	case strings.ContainsAny(tok, quotationMarks):
		p.pos = start
		return nil, p.errorf("a string value must be in double quotes, as JSON writes it; found %s", quoteClip(tok))
	case !isJSONNumber(tok):
		return tok, nil
	}
	if !strings.ContainsAny(tok, ".eE") {
		if n, err := strconv.Atoi(tok); err == nil {
			return n, nil
		}
		// Keep every digit rather than round through float64.
		return json.Number(tok), nil
	}
	f, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		p.pos = start
		return nil, p.errorf("number %s out of range", tok)
	}
	return f, nil
}

// parseString decodes a JSON string (RFC 8259 §7) starting at the opening quote.
func (p *parser) parseString() (string, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	lit := p.pos // start of the run of bytes not yet copied to b
	for {
		if p.eof() {
			p.pos = start
			return "", p.errorf("unterminated string")
		}
		c := p.s[p.pos]
		switch {
		case c == '"':
			b.WriteString(p.s[lit:p.pos])
			p.pos++
			return b.String(), nil
		case c < 0x20:
			return "", p.errorf("control character in string; use a \\u escape")
		case c != '\\':
			p.pos++
			continue
		}
		b.WriteString(p.s[lit:p.pos])
		esc := p.pos
		p.pos++
		if p.eof() {
			p.pos = start
			return "", p.errorf("unterminated string")
		}
		switch c := p.s[p.pos]; c {
		case '"', '\\', '/':
			b.WriteByte(c)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := p.hex4(p.pos + 1)
			if !ok {
				p.pos = esc
				return "", p.errorf("invalid \\u escape")
			}
			p.pos += 4
			if utf16.IsSurrogate(r) {
				lo, ok := rune(0), false
				if p.pos+2 < len(p.s) && p.s[p.pos+1] == '\\' && p.s[p.pos+2] == 'u' {
					lo, ok = p.hex4(p.pos + 3)
				}
				r = utf16.DecodeRune(r, lo)
				if !ok || r == utf8.RuneError {
					p.pos = esc
					return "", p.errorf("invalid surrogate pair in \\u escape")
				}
				p.pos += 6
			}
			b.WriteRune(r)
		default:
			_, size := utf8.DecodeRuneInString(p.s[p.pos:])
			bad := p.s[esc : p.pos+size]
			p.pos = esc
			return "", p.errorf("invalid escape %q", bad)
		}
		p.pos++
		lit = p.pos
	}
}

// hex4 decodes the four hex digits at offset i, in either case.
func (p *parser) hex4(i int) (rune, bool) {
	if i+4 > len(p.s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.s[i : i+4]) {
		switch {
		case isDigit(c):
			r = r<<4 | rune(c-'0')
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			r = r<<4 | rune(c|0x20-'a'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// parseAttrPath parses [URI ":"] ATTRNAME ["." ATTRNAME]. The URI is
// everything up to the last ":" of the token, so any URN (including ones with
// "_" or "%") can prefix a name.
func (p *parser) parseAttrPath() (filter.AttributePath, error) {
	start := p.pos
	for !p.eof() && isPathChar(p.s[p.pos]) {
		p.pos++
	}
	tok := p.s[start:p.pos]
	if tok == "" {
		return filter.AttributePath{}, p.errorf("expected an attribute name, found %s", p.near())
	}
	var ap filter.AttributePath
	nameAt := start
	if i := strings.LastIndexByte(tok, ':'); i >= 0 {
		if i == 0 {
			p.pos = start
			return ap, p.errorf("empty schema URI before %q", tok[1:])
		}
		uri := tok[:i]
		ap.URIPrefix = &uri
		nameAt = start + i + 1
	}
	name, sub, hasSub := strings.Cut(p.s[nameAt:p.pos], ".")
	if !isAttrName(name) {
		p.pos = nameAt
		return ap, p.errorf("invalid attribute name %q", name)
	}
	ap.AttributeName = name
	if hasSub {
		if !isAttrName(sub) {
			p.pos = nameAt + len(name) + 1
			return ap, p.errorf("invalid sub-attribute name %q", sub)
		}
		ap.SubAttribute = &sub
	}
	return ap, nil
}

// parseName parses the ATTRNAME after a value filter's closing "]." .
func (p *parser) parseName() (string, error) {
	start := p.pos
	for !p.eof() && isPathChar(p.s[p.pos]) {
		p.pos++
	}
	name := p.s[start:p.pos]
	if !isAttrName(name) {
		p.pos = start
		return "", p.errorf("expected a sub-attribute name after \"].\", found %s", p.near())
	}
	return name, nil
}

// isAttrName reports whether s is ATTRNAME = ALPHA *(nameChar), optionally
// preceded by "$" so that "$ref" is a name (RFC 7643 §2.3.7).
func isAttrName(s string) bool {
	s = strings.TrimPrefix(s, "$")
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// isPathChar reports whether c may appear in an attribute path: name
// characters plus what URNs and URIs use (RFC 8141 §2), except the
// delimiters "(", ")", "[", "]", '"' and white space.
func isPathChar(c byte) bool {
	return isAlpha(c) || isDigit(c) || strings.IndexByte("-._~%!$&'*+,;=:@/", c) >= 0
}

// isJSONNumber reports whether s is a number in the JSON grammar (RFC 8259 §6).
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i == len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i == len(s)
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *parser) eof() bool { return p.pos >= len(p.s) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.pos]
}

// skipSpace skips white space and reports whether there was any.
func (p *parser) skipSpace() bool {
	start := p.pos
	for !p.eof() && isSpace(p.s[p.pos]) {
		p.pos++
	}
	return p.pos > start
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: p.pos, Msg: fmt.Sprintf(format, args...), path: p.path}
}

// unexpected reports what follows a complete filter.
func (p *parser) unexpected() error {
	switch p.peek() {
	case ')':
		return p.errorf("unbalanced \")\"")
	case ']':
		return p.errorf("unbalanced \"]\"")
	}
	return p.errorf("unexpected %s; expected \"and\", \"or\" or the end of the filter", p.near())
}

// near quotes the input at the current offset for an error message, up to
// the next white space and at most 24 bytes.
func (p *parser) near() string {
	if p.eof() {
		return "end of input"
	}
	rest := p.s[p.pos:]
	if i := strings.IndexAny(rest[1:], " \t\n\r"); i >= 0 {
		rest = rest[:1+i]
	}
	return quoteClip(rest)
}

// quotationMarks are the characters that make an unquoted word a mistyped
// string rather than a word: ASCII quotes and the typographic ones.
const quotationMarks = "\"'\u2018\u2019\u201C\u201D"

// quoteClip quotes s for an error message, cut to its first 24 bytes or
// the whole character that crosses that mark.
func quoteClip(s string) string {
	end := 0
	for end < len(s) && end < 24 {
		_, size := utf8.DecodeRuneInString(s[end:])
		end += size
	}
	return strconv.Quote(s[:end])
}

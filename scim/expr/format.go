package expr

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/scim2/filter-parser/v2"
)

// Format prints e as a filter that ParseFilter parses back to the same AST.
// Strings are JSON-quoted, operators and keywords lower-case, and parentheses
// appear only where precedence needs them. Use it rather than the String
// methods of filter-parser, which quote with Go syntax and drop the
// parentheses a right-nested and/or needs.
func Format(e filter.Expression) string {
	var b strings.Builder
	formatExpr(&b, e, precOr)
	return b.String()
}

// FormatPath prints p as a PATCH path that ParsePath parses back to p.
func FormatPath(p filter.Path) string {
	var b strings.Builder
	b.WriteString(pathString(p.AttributePath))
	if p.ValueExpression != nil {
		b.WriteByte('[')
		formatExpr(&b, p.ValueExpression, precOr)
		b.WriteByte(']')
	}
	if p.SubAttribute != nil {
		b.WriteByte('.')
		b.WriteString(*p.SubAttribute)
	}
	return b.String()
}

// Binding strength, weakest first.
const (
	precOr = iota
	precAnd
	precTerm
)

// formatExpr writes e, in parentheses if it binds more weakly than outer.
func formatExpr(b *strings.Builder, e filter.Expression, outer int) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		if e == nil {
			return
		}
		prec := precOr
		if e.Operator == filter.AND {
			prec = precAnd
		}
		if prec < outer {
			b.WriteByte('(')
		}
		// Both operators are left-associative, so a right operand of equal
		// strength needs parentheses to keep its shape.
		formatExpr(b, e.Left, prec)
		b.WriteByte(' ')
		b.WriteString(strings.ToLower(string(e.Operator)))
		b.WriteByte(' ')
		formatExpr(b, e.Right, prec+1)
		if prec < outer {
			b.WriteByte(')')
		}
	case *filter.NotExpression:
		if e == nil {
			return
		}
		b.WriteString("not(")
		formatExpr(b, e.Expression, precOr)
		b.WriteByte(')')
	case *filter.ValuePath:
		if e == nil {
			return
		}
		b.WriteString(pathString(e.AttributePath))
		b.WriteByte('[')
		formatExpr(b, e.ValueFilter, precOr)
		b.WriteByte(']')
	case *filter.AttributeExpression:
		if e == nil {
			return
		}
		b.WriteString(pathString(e.AttributePath))
		b.WriteByte(' ')
		b.WriteString(strings.ToLower(string(e.Operator)))
		if !strings.EqualFold(string(e.Operator), string(filter.PR)) {
			b.WriteByte(' ')
			b.WriteString(formatValue(e.CompareValue))
		}
	}
}

// pathString prints an attribute path as [URI ":"] name ["." sub].
func pathString(p filter.AttributePath) string {
	s := p.AttributeName
	if p.URIPrefix != nil {
		s = *p.URIPrefix + ":" + s
	}
	if p.SubAttribute != nil {
		s += "." + *p.SubAttribute
	}
	return s
}

// formatValue prints a compare value in the syntax ParseFilter reads back as
// the same Go value and type.
func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case string:
		return quote(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case json.Number:
		if isJSONNumber(string(v)) {
			return string(v)
		}
		return quote(string(v))
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return quote(strconv.FormatFloat(v, 'g', -1, 64))
		}
		s := strconv.FormatFloat(v, 'g', -1, 64)
		// A float without a fraction or exponent would read back as an int.
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s
	case time.Time:
		return quote(v.Format(time.RFC3339Nano))
	}
	return quote(fmt.Sprint(v))
}

// quote writes s as a JSON string. Unlike strconv.Quote it never emits the
// Go-only escapes \x, \a, \v or \U.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

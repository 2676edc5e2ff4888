package scim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/rollcall/rollcall/storage"
)

// limitBody reads a request body whole, up to the configured limit: a larger body is answered
// 413 before anything else reads it (the library would read it unbounded, and turn a
// limited reader's error into 400).
func (h *Handler) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
			h.writeError(w, r, errorf(http.StatusUnsupportedMediaType, "",
				"The request body must not be encoded (Content-Encoding %q); send it as plain JSON.", ce))
			return
		}
		if r.ContentLength > h.cfg.MaxBodyBytes {
			h.writeError(w, r, errorf(http.StatusRequestEntityTooLarge, "",
				"The request body is larger than the limit of %d bytes.", h.cfg.MaxBodyBytes))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			h.writeError(w, r, errorf(http.StatusRequestEntityTooLarge, "",
				"The request body is larger than the limit of %d bytes.", h.cfg.MaxBodyBytes))
			return
		case err != nil:
			h.writeError(w, r, badRequest(typeInvalidSyntax, "The request body could not be read."))
			return
		}
		if !utf8.Valid(body) || storage.HasLoneSurrogateEscape(body) {
			// encoding/json would turn each bad byte, and each half of a surrogate pair on its
			// own, into U+FFFD, and two names could become one.
			h.writeError(w, r, badRequest(typeInvalidSyntax, "The request body is not valid UTF-8 (or escapes half a surrogate pair)."))
			return
		}
		if storage.HasNULEscape(body) {
			h.writeError(w, r, badRequest(typeInvalidValue, "The request body holds a NUL character (\\u0000), which no attribute may contain."))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

type outcomeKey struct{}

// outcome carries, from a handler the elimity server called, the error to answer with.
type outcome struct{ err *Error }

// withOutcome runs the elimity server with a buffered response. When a handler recorded an
// error (see libraryError), that error is written instead of the library's rendering of it;
// otherwise the library's response goes out as it wrote it.
func (h *Handler) withOutcome(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := &outcome{}
		buf := &bufferedWriter{header: http.Header{}}
		next.ServeHTTP(buf, r.WithContext(context.WithValue(r.Context(), outcomeKey{}, o)))
		if o.err != nil {
			h.writeError(w, r, o.err)
			return
		}
		buf.writeTo(w, buf.body.Bytes())
	})
}

// writeTo sends the buffered answer to w, with body in place of what was buffered.
func (b *bufferedWriter) writeTo(w http.ResponseWriter, body []byte) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(body)
}

type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

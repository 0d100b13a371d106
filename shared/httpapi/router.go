// Package httpapi is the HTTP machinery the API functions share: a router
// that answers unknown routes and wrong methods with JSON, JSON responses,
// the mapping of application errors to status codes, request decoding with
// validation errors, pagination and the authentication middleware.
package httpapi

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Router dispatches requests by method and path pattern. Patterns are paths
// whose segments may be {name} parameters; a trailing slash is significant.
type Router struct {
	routes []route
}

type route struct {
	method   string
	segments []string
	handler  http.Handler
}

// Handle registers h for method and pattern.
func (rt *Router) Handle(method, pattern string, h http.Handler) {
	rt.routes = append(rt.routes, route{method: method, segments: strings.Split(pattern, "/"), handler: h})
}

// Match reports whether path matches pattern and returns the parameters.
func Match(pattern, path string) (map[string]string, bool) {
	return match(strings.Split(pattern, "/"), path)
}

func match(segments []string, path string) (map[string]string, bool) {
	parts := strings.Split(path, "/")
	if len(parts) != len(segments) {
		return nil, false
	}
	var params map[string]string
	for i, seg := range segments {
		if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
			if parts[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[seg[1:len(seg)-1]] = parts[i]
			continue
		}
		if seg != parts[i] {
			return nil, false
		}
	}
	return params, true
}

// ServeHTTP implements http.Handler: 404 when no pattern matches the path,
// 405 (with Allow) when patterns match but none for the method.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, route := range rt.routes {
		params, ok := match(route.segments, r.URL.Path)
		if !ok {
			continue
		}
		if route.method != r.Method {
			allowed = append(allowed, route.method)
			continue
		}
		for name, value := range params {
			r.SetPathValue(name, value)
		}
		route.handler.ServeHTTP(w, r)
		return
	}
	if len(allowed) == 0 {
		WriteJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
		return
	}
	slices.Sort(allowed)
	w.Header().Set("Allow", strings.Join(slices.Compact(allowed), ", "))
	WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"})
}

// StatusRecorder is a ResponseWriter that remembers the status a handler
// answered (0 while it has answered nothing).
type StatusRecorder struct {
	http.ResponseWriter
	Status int
}

// WriteHeader records the first status and passes it on.
func (w *StatusRecorder) WriteHeader(status int) {
	if w.Status == 0 {
		w.Status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write records 200 when no status was written, and passes b on.
func (w *StatusRecorder) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// AccessLog logs one line per request (method, path, status, duration) with
// the default logger, which adds the request id from the context.
func AccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &StatusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		slog.InfoContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", rec.Status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000)
	})
}

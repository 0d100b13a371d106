package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/inmor/inmor-serverless/shared/httpapi"
)

var eventTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestEventRoundTrip: a request turned into an API Gateway event and back
// keeps what the handlers read, and the request context carries what the
// gateway saw, never what the client claimed.
func TestEventRoundTrip(t *testing.T) {
	cases := []struct {
		name       string
		method     string
		target     string
		remoteAddr string
		body       []byte
		headers    [][2]string
		params     map[string]string
		wantIP     string
		wantBase64 bool
		wantCookie []string
	}{
		{
			name: "JSON write with cookies, a forged X-Forwarded-For and a path parameter", method: "PUT",
			target: "/api/v1/trustmarktypes/7?limit=5&x=a%20b&x=c", remoteAddr: "203.0.113.9:54321",
			body: []byte(`{"active": false, "note": "héllo"}`),
			headers: [][2]string{
				{"Content-Type", "application/json"}, {"User-Agent", "inmor-client/1.0"},
				{"X-Forwarded-For", "6.6.6.6"}, {"X-Real-Ip", "6.6.6.6"}, {"X-Api-Key", "secret-key"},
				{"Cookie", "sessionid=abc; csrftoken=tok"}, {"X-Csrftoken", "tok"},
			},
			params: map[string]string{"id": "7"}, wantIP: "203.0.113.9",
			wantCookie: []string{"sessionid=abc", "csrftoken=tok"},
		},
		{
			name: "binary body travels as base64", method: "POST", target: "/api/v1/trustmarktypes",
			remoteAddr: "198.51.100.2:1", body: []byte{0xff, 0xfe, 0x00, 'a', 0x80},
			headers: [][2]string{{"Content-Type", "application/octet-stream"}}, wantIP: "198.51.100.2", wantBase64: true,
		},
		{
			name: "GET without body, IPv6 peer", method: "GET", target: "/api/v1/auditlog?resource_type=TrustMark",
			remoteAddr: "[2001:db8::1]:443", wantIP: "2001:db8::1",
		},
		{
			name: "peer address without a port", method: "GET", target: "/api/v1/openapi.json",
			remoteAddr: "192.0.2.1", wantIP: "192.0.2.1",
		},
		{
			name: "two Cookie headers become one cookie list", method: "GET", target: "/api/v1/auth/me",
			remoteAddr: "192.0.2.1:80", headers: [][2]string{{"Cookie", "a=1"}, {"Cookie", "b=2; c=3"}},
			wantIP: "192.0.2.1", wantCookie: []string{"a=1", "b=2", "c=3"},
		},
		{
			name: "escaped path characters survive", method: "GET", target: "/api/v1/x%2Fy/%C3%A9?q=%26",
			remoteAddr: "192.0.2.1:80", wantIP: "192.0.2.1",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := httptest.NewRequest(c.method, "http://api.example"+c.target, bytes.NewReader(c.body))
			in.RemoteAddr = c.remoteAddr
			for _, h := range c.headers {
				in.Header.Add(h[0], h[1])
			}
			ev := NewEvent(in, c.body, EventOptions{RouteKey: c.method + " /route", PathParameters: c.params, RequestID: "req-" + c.name, Now: eventTime})

			// The event, as API Gateway would send it.
			if ev.Version != "2.0" || ev.RequestContext.HTTP.Method != c.method || ev.RawPath != in.URL.EscapedPath() || ev.RawQueryString != in.URL.RawQuery {
				t.Errorf("event: version %q method %q path %q query %q", ev.Version, ev.RequestContext.HTTP.Method, ev.RawPath, ev.RawQueryString)
			}
			if ev.RequestContext.HTTP.SourceIP != c.wantIP {
				t.Errorf("event source IP = %q, want %q (from the connection)", ev.RequestContext.HTTP.SourceIP, c.wantIP)
			}
			if !slices.Equal(ev.Cookies, c.wantCookie) {
				t.Errorf("event cookies = %q, want %q", ev.Cookies, c.wantCookie)
			}
			for name := range ev.Headers {
				if name != strings.ToLower(name) || name == "cookie" {
					t.Errorf("event header %q: headers are lower case and cookies travel apart", name)
				}
			}
			if ev.IsBase64Encoded != c.wantBase64 {
				t.Errorf("IsBase64Encoded = %v, want %v", ev.IsBase64Encoded, c.wantBase64)
			}
			if ev.RequestContext.TimeEpoch != eventTime.UnixMilli() {
				t.Errorf("TimeEpoch = %d", ev.RequestContext.TimeEpoch)
			}

			if !reflect.DeepEqual(ev.PathParameters, c.params) {
				t.Errorf("event path parameters = %v, want %v", ev.PathParameters, c.params)
			}

			// And back, through the Lambda adapter.
			var out *http.Request
			var body []byte
			resp, err := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				out = r
				body, _ = io.ReadAll(r.Body)
				w.WriteHeader(http.StatusNoContent)
			}))(context.Background(), ev)
			if err != nil || out == nil || resp.StatusCode != http.StatusNoContent {
				t.Fatalf("Handler: %+v %v; the handler did not run", resp, err)
			}
			if out.Method != c.method || out.URL.Path != in.URL.Path || out.URL.RawQuery != in.URL.RawQuery ||
				out.URL.EscapedPath() != in.URL.EscapedPath() {
				t.Errorf("request %s %s?%s (escaped %s), want %s %s?%s (escaped %s)", out.Method, out.URL.Path, out.URL.RawQuery,
					out.URL.EscapedPath(), c.method, in.URL.Path, in.URL.RawQuery, in.URL.EscapedPath())
			}
			if out.Host != in.Host || ev.Headers["host"] != in.Host || out.Header.Get("Host") != "" {
				t.Errorf("host: event %q, request %q, want %q (the CSRF origin check compares with it)", ev.Headers["host"], out.Host, in.Host)
			}
			if !reflect.DeepEqual(out.URL.Query(), in.URL.Query()) {
				t.Errorf("query = %v, want %v", out.URL.Query(), in.URL.Query())
			}
			for _, h := range c.headers {
				if h[0] == "Cookie" {
					continue
				}
				if got := out.Header.Get(h[0]); got != in.Header.Get(h[0]) {
					t.Errorf("header %s = %q, want %q", h[0], got, in.Header.Get(h[0]))
				}
			}
			if c.wantCookie != nil {
				if got, want := out.Header.Get("Cookie"), strings.Join(c.wantCookie, "; "); got != want {
					t.Errorf("Cookie header = %q, want %q", got, want)
				}
				var names []string
				for _, ck := range out.Cookies() {
					names = append(names, ck.Name+"="+ck.Value)
				}
				if !slices.Equal(names, c.wantCookie) {
					t.Errorf("cookies = %q, want %q", names, c.wantCookie)
				}
			}
			if !bytes.Equal(body, c.body) {
				t.Errorf("body = %q, want %q", body, c.body)
			}
			want := httpapi.RequestContext{RequestID: "req-" + c.name, SourceIP: c.wantIP, UserAgent: in.UserAgent(), RouteKey: c.method + " /route"}
			if got := httpapi.RequestContextOf(out.Context()); got != want {
				t.Errorf("RequestContext = %+v, want %+v", got, want)
			}
			if out.RemoteAddr != c.wantIP {
				t.Errorf("RemoteAddr = %q, want %q", out.RemoteAddr, c.wantIP)
			}
		})
	}
}

// TestMalformedEvents: events the gateway would never send are answered
// with a JSON 400, and the handler never runs.
func TestMalformedEvents(t *testing.T) {
	cases := map[string]events.APIGatewayV2HTTPRequest{
		"body flagged base64 that is not": {RawPath: "/x", IsBase64Encoded: true, Body: "!!not base64!!",
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}}},
		"no path": {RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}}},
		"bad method": {RawPath: "/x",
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GE T"}}},
	}
	for name, ev := range cases {
		t.Run(name, func(t *testing.T) {
			called := false
			resp, err := Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))(context.Background(), ev)
			if err != nil || resp.StatusCode != 400 || resp.Headers["Content-Type"] != "application/json" || !strings.Contains(resp.Body, `"detail"`) {
				t.Errorf("Handler = %+v, %v; want a JSON 400", resp, err)
			}
			if called {
				t.Error("the handler ran for a malformed event")
			}
		})
	}
}

// TestHandler: Lambda invocations reach the http.Handler and its response
// comes back as an event response.
func TestHandler(t *testing.T) {
	in := httptest.NewRequest("POST", "http://api.example/api/v1/trustmarktypes?x=1", strings.NewReader(`{"tmtype":"t"}`))
	in.RemoteAddr = "203.0.113.9:1234"
	in.Header.Set("User-Agent", "ua/2")
	in.Header.Set("X-Forwarded-For", "6.6.6.6")
	ev := NewEvent(in, []byte(`{"tmtype":"t"}`), EventOptions{RequestID: "req-42", Now: eventTime})

	cases := []struct {
		name       string
		body       []byte
		wantBase64 bool
	}{
		{"text body", []byte(`{"id":1,"tmtype":"t"}`), false},
		{"binary body", []byte{0xff, 0x00, 0xfe}, true},
		{"empty body", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var seen httpapi.RequestContext
			var seenBody string
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = httpapi.RequestContextOf(r.Context())
				b, _ := io.ReadAll(r.Body)
				seenBody = string(b)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Add("X-Multi", "a")
				w.Header().Add("X-Multi", "b")
				http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "s1", HttpOnly: true})
				http.SetCookie(w, &http.Cookie{Name: "csrftoken", Value: "t1"})
				w.WriteHeader(http.StatusCreated)
				_, _ = w.Write(c.body)
			})
			resp, err := Handler(h)(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if seen.RequestID != "req-42" || seen.SourceIP != "203.0.113.9" || seen.UserAgent != "ua/2" {
				t.Errorf("handler saw %+v; want the gateway's request id, source IP and user agent", seen)
			}
			if seenBody != `{"tmtype":"t"}` {
				t.Errorf("handler read body %q", seenBody)
			}
			if resp.StatusCode != 201 {
				t.Errorf("status = %d, want 201", resp.StatusCode)
			}
			if resp.Headers["Content-Type"] != "application/json" || resp.Headers["X-Multi"] != "a,b" {
				t.Errorf("headers = %v", resp.Headers)
			}
			if _, present := resp.Headers["Set-Cookie"]; present {
				t.Errorf("Set-Cookie must travel in Cookies, not Headers: %v", resp.Headers)
			}
			if want := []string{"sessionid=s1; HttpOnly", "csrftoken=t1"}; !slices.Equal(resp.Cookies, want) {
				t.Errorf("cookies = %q, want %q", resp.Cookies, want)
			}
			if resp.IsBase64Encoded != c.wantBase64 {
				t.Errorf("IsBase64Encoded = %v, want %v", resp.IsBase64Encoded, c.wantBase64)
			}
			body := []byte(resp.Body)
			if c.wantBase64 {
				if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(body, c.body) {
				t.Errorf("body = %q, want %q", body, c.body)
			}

			// WriteResponse plays the response back to an HTTP client.
			rec := httptest.NewRecorder()
			WriteResponse(rec, resp)
			if rec.Code != 201 || !bytes.Equal(rec.Body.Bytes(), c.body) {
				t.Errorf("WriteResponse: %d %q, want 201 %q", rec.Code, rec.Body.Bytes(), c.body)
			}
			if got := rec.Header().Values("Set-Cookie"); !slices.Equal(got, resp.Cookies) {
				t.Errorf("WriteResponse Set-Cookie = %q, want %q", got, resp.Cookies)
			}
			if rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("WriteResponse Content-Type = %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}

// TestWriteResponse: every part of an event response reaches the client.
func TestWriteResponse(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteResponse(rec, events.APIGatewayV2HTTPResponse{
		StatusCode:        404,
		Headers:           map[string]string{"Content-Type": "application/json"},
		MultiValueHeaders: map[string][]string{"Vary": {"Origin", "Cookie"}},
		Cookies:           []string{"a=1", "b=2; Secure"},
		Body:              base64.StdEncoding.EncodeToString([]byte(`{"detail":"Not Found"}`)),
		IsBase64Encoded:   true,
	})
	if rec.Code != 404 || rec.Body.String() != `{"detail":"Not Found"}` {
		t.Errorf("WriteResponse = %d %q", rec.Code, rec.Body)
	}
	if !slices.Equal(rec.Header().Values("Vary"), []string{"Origin", "Cookie"}) {
		t.Errorf("Vary = %q", rec.Header().Values("Vary"))
	}
	if !slices.Equal(rec.Header().Values("Set-Cookie"), []string{"a=1", "b=2; Secure"}) {
		t.Errorf("Set-Cookie = %q", rec.Header().Values("Set-Cookie"))
	}
	if rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", rec.Header().Get("Content-Type"))
	}
}

// TestRequestContext: FromContext of a context without one is the zero value.
func TestRequestContext(t *testing.T) {
	if got := httpapi.RequestContextOf(context.Background()); got != (httpapi.RequestContext{}) {
		t.Errorf("httpapi.RequestContextOf(empty) = %+v", got)
	}
}

// TestHeadersAsSent: a header API Gateway sent as one comma-separated value
// reaches the handler as that one value (httpadapter splits it), so a
// forged "X-API-Key: good,junk" is not read as "good".
func TestHeadersAsSent(t *testing.T) {
	ev := events.APIGatewayV2HTTPRequest{
		RawPath: "/api/v1/auth/me",
		Headers: map[string]string{
			"x-api-key": "good,junk", "user-agent": "Mozilla/5.0 (X11, Linux) Gecko, like Safari", "origin": "https://a.example, https://b.example",
		},
		Cookies: []string{"sessionid=s", "csrftoken=t"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "api.example", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"},
		},
	}
	var seen http.Header
	_, err := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		w.WriteHeader(http.StatusOK)
	}))(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"X-Api-Key": {"good,junk"}, "User-Agent": {"Mozilla/5.0 (X11, Linux) Gecko, like Safari"},
		"Origin": {"https://a.example,https://b.example"}, "Cookie": {"sessionid=s; csrftoken=t"},
	}
	for name, values := range want {
		if got := seen.Values(name); !slices.Equal(got, values) {
			t.Errorf("%s = %q, want %q", name, got, values)
		}
	}
}

package scim

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rollcall/rollcall/scim/expr"
	"github.com/rollcall/rollcall/storage"
)

// The filter translation is checked against the reference semantics: for every filter, the
// resources the database returns must be exactly those expr.Resolver.Match accepts on their
// SCIM documents. The table below seeds both the test and the fuzzer.

var userFilterSeeds = []string{
	`userName eq "bjensen"`, `userName eq "BJENSEN"`, `USERNAME Eq "bjensen"`, `userName ne "bjensen"`,
	`userName sw "j"`, `userName co "%"`, `userName co "_"`, `userName ew "N"`, `userName gt "a"`, `userName le "JSMITH"`,
	`userName eq "ÉMILE"`, `externalId eq "ALICE"`, `externalId eq "alice"`, `externalId pr`, `not(externalId pr)`,
	`externalId ne "ext-1"`, `title pr`, `title eq "tour guide"`, `title ne "Tour Guide"`, `title co "guide"`,
	`title gt "T"`, `title lt "t"`, `not(title eq "Tour Guide")`, `displayName pr`, `nickName sw "b"`,
	`name.givenName eq "barbara"`, `name.familyName pr`, `name pr`, `name.givenName ne "Barbara"`,
	`active eq true`, `active eq false`, `active ne true`, `active eq "True"`, `active eq "false"`, `active pr`,
	`emails pr`, `emails eq "bjensen@example.com"`, `emails.value co "example.com"`, `emails.value ne "bjensen@example.com"`,
	`emails[type eq "work"]`, `emails[type eq "work" and value co "@example.com"]`, `emails[type eq "work"].value eq "JSMITH@example.com"`,
	`emails[type eq "work" and primary eq true]`, `emails[not(type eq "work")]`, `emails[type ne "work"]`,
	`emails[(type eq "work" or type eq "home") and value ew ".org"]`, `emails.type pr`, `emails[primary eq false]`,
	`emails[type pr]`, `not(emails[type eq "work"])`, `emails.primary eq true`,
	`phoneNumbers[type eq "work"].value sw "555"`, `addresses[locality eq "hollywood"]`, `addresses.country eq "USA"`,
	`roles[primary eq "True"]`, `roles.value eq "admin"`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`,
	`employeeNumber eq 701984`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department co "our"`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1"`, `costCenter pr`,
	`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "z"`,
	`meta.created gt "2026-03-04T05:06:08Z"`, `meta.lastModified le "2026-03-04T05:06:09Z"`, `meta.created ge "2026-03-04T05:06:07.5Z"`,
	`meta.created eq "2026-03-04T05:06:09Z"`, `meta.created eq "2026-03-04T05:06:09.5Z"`, `meta.created ne "2026-03-04T05:06:09Z"`,
	`meta.created ne "2026-03-04T05:06:09.5Z"`, `meta.created lt "2026-03-04T05:06:10Z"`, `meta.created lt "2026-03-04T05:06:09.9Z"`,
	`meta.created le "2026-03-04T05:06:09Z"`, `meta.created le "2026-03-04T05:06:09.1Z"`, `meta.created gt "2026-03-04T05:06:09Z"`,
	`meta.created gt "2026-03-04T05:06:09.1Z"`, `meta.created ge "2026-03-04T05:06:12Z"`, `meta.lastModified eq "2026-03-04T05:06:12Z"`,
	`meta.created gt "2026-03-04T07:06:09+02:00"`, `meta.resourceType sw "u"`, `meta.resourceType co "SER"`, `meta.resourceType ew "x"`,
	`meta.resourceType gt "T"`, `meta.resourceType ne "group"`, `meta.resourceType pr`,
	`meta.resourceType eq "User"`, `groups.value pr`, `groups[display eq "admins"]`, `groups.display co "ADM"`,
	`userName eq "bjensen" or userName eq "z" and active eq true`, `(userName eq "bjensen" or userName eq "z") and active eq false`,
	`not(not(userName eq "z"))`, `userName eq jsmith`, `title eq null`, `title ne null`, `x eq "y"`, `userName gt true`,
	`name.familyName eq "ΣΩΚΡΆΤΗΣ"`, `displayName eq "σωκράτης grace"`, `displayName sw "σωκράτησ"`, `userName eq "οδος"`,
	`nickName eq "STRASSE"`, `nickName co "ss"`,
	`timezone eq "europe/paris"`, `locale sw "fr"`, `userType eq "EMPLOYEE"`, `profileUrl pr`,
}

var groupFilterSeeds = []string{
	`displayName eq "admins"`, `displayName eq "ADMINS"`, `displayName co "team"`, `displayName sw "Data"`,
	`members pr`, `not(members pr)`, `members[value eq "$U0"]`, `members.value eq "$U1"`, `members eq "$U0"`,
	`members[type eq "User"]`, `members[display co "jensen"]`, `externalId eq "g-ext"`, `id pr`,
	`displayName eq "admins" and members[value eq "$U0"]`, `meta.lastModified gt "2020-01-01T00:00:00Z"`,
}

// filterEnv is an env seeded with users and groups of varied shapes.
type filterEnv struct {
	*env
	users  []string
	groups []string
}

func newFilterEnv(t testing.TB) *filterEnv {
	clock := testNow
	e := &filterEnv{env: newEnv(t, func(c *Config) {
		// A second and a quarter apart; filters compare times as they are shown.
		c.Now = func() time.Time { clock = clock.Add(1250 * time.Millisecond); return clock }
	})}
	bodies := []map[string]any{
		user("bjensen", "externalId", "ext-1", "name", map[string]any{"givenName": "Barbara", "familyName": "Jensen"},
			"title", "Tour Guide", "nickName", "Babs", "userType", "Employee", "displayName", "Babs Jensen",
			"emails", []map[string]any{{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}},
			"phoneNumbers", []map[string]any{{"value": "555-555-8377", "type": "work"}},
			"addresses", []map[string]any{{"type": "work", "locality": "Hollywood", "country": "USA", "primary": true}},
			enterpriseURN, map[string]any{"employeeNumber": "701984", "department": "Tours", "manager": map[string]any{"value": "m1"}}),
		user("JSmith", "active", false, "title", "", "displayName", "John Smith",
			"emails", []map[string]any{{"value": "JSmith@Example.com", "type": "work"}}),
		user("émile", "title", "Ingénieur", "locale", "fr-FR", "roles", []map[string]any{{"value": "admin", "primary": "True"}},
			"timezone", "Europe/Paris"),
		user("100%_user", "emails", []map[string]any{{"value": "x_y%z@example.com"}}, enterpriseURN, map[string]any{"costCenter": "CC-1"}),
		user("z"),
		user("ΟΔΟΣ", "name", map[string]any{"familyName": "Σωκράτης"}, "displayName", "ΣΩΚΡΆΤΗΣ grace", "nickName", "Straſse"),
		user("Alice", "externalId", "ALICE", "title", "tour guide", "profileUrl", "https://example.com/alice",
			"emails", []map[string]any{{"value": "alice@example.com", "type": "work", "primary": false}}),
	}
	for _, b := range bodies {
		e.users = append(e.users, e.mustCreate("/Users", b))
	}
	admins := group("admins", e.users[0], e.users[1])
	admins["externalId"] = "g-ext"
	e.groups = append(e.groups, e.mustCreate("/Groups", admins),
		e.mustCreate("/Groups", group("Data Team", e.users[2])), e.mustCreate("/Groups", group("empty team")))
	return e
}

// evalDocs are the resources as the reference evaluator sees them: rendered as on GET, with
// full-precision times.
func (e *filterEnv) evalDocs(rs *resourceSchema) map[string]map[string]any {
	ctx := e.t.Context()
	docs := map[string]map[string]any{}
	if rs == usersSchema {
		page, err := e.store.Users(ctx, e.scope, storage.Query{Limit: 1000})
		if err != nil {
			e.t.Fatal(err)
		}
		groups, _ := e.store.GroupsOfUsers(ctx, e.scope, e.users)
		h := &Handler{cfg: Config{BaseURL: "https://rollcall.example"}}
		for _, u := range page.Items {
			d := h.userAttrs(u, groups[u.ID], true)
			e.addCommon(d, userStored(u), "User")
			docs[u.ID] = d
		}
		return docs
	}
	for _, id := range e.groups {
		r := e.do("GET", "/Groups/"+id, nil)
		g, _ := e.store.Group(ctx, e.scope, id)
		e.addCommon(r.body, groupStored(g), "Group")
		docs[id] = r.body
	}
	return docs
}

func (e *filterEnv) addCommon(d map[string]any, s stored, typ string) {
	d["id"] = s.id
	if s.externalID != "" {
		d["externalId"] = s.externalID
	}
	// As rendered.
	d["meta"] = map[string]any{"resourceType": typ, "created": formatTime(s.created), "lastModified": formatTime(s.updated)}
}

// check compares the database's answer to a filter with the evaluator's; it returns false
// when the filter is invalid (and so has nothing to compare).
func (e *filterEnv) check(t testing.TB, rs *resourceSchema, docs map[string]map[string]any, filter string) bool {
	t.Helper()
	parsed, err := expr.ParseFilter(filter)
	if err != nil {
		return false
	}
	sf, serr := checkedFilter(rs, parsed)
	if serr != nil {
		if serr.Status != 400 || serr.ScimType != typeInvalidFilter {
			t.Errorf("filter %q: error %v, want 400 invalidFilter", filter, serr)
		}
		return false
	}
	var got []string
	q := storage.Query{Filter: sf, Limit: 1000}
	if rs == usersSchema {
		page, err := e.store.Users(t.Context(), e.scope, q)
		if err != nil {
			t.Fatalf("filter %q: %v", filter, err)
		}
		for _, u := range page.Items {
			got = append(got, u.ID)
		}
	} else {
		page, err := e.store.Groups(t.Context(), e.scope, q)
		if err != nil {
			t.Fatalf("filter %q: %v", filter, err)
		}
		for _, g := range page.Items {
			got = append(got, g.ID)
		}
	}
	var want []string
	res := resolverFor(rs)
	evalExpr := stringifyNumbers(rs, parsed)
	for id, d := range docs {
		if res.Match(evalExpr, d) {
			want = append(want, id)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("filter %q: the database returns %v, the evaluator %v (%s)", filter, e.names(got), e.names(want), expr.Format(parsed))
	}
	return true
}

func (e *filterEnv) names(ids []string) []string {
	var out []string
	for _, id := range ids {
		for i, u := range e.users {
			if u == id {
				out = append(out, fmt.Sprintf("user%d", i))
			}
		}
		for i, g := range e.groups {
			if g == id {
				out = append(out, fmt.Sprintf("group%d", i))
			}
		}
	}
	return out
}

func (e *filterEnv) expand(s string) string {
	for i, id := range e.users {
		s = strings.ReplaceAll(s, fmt.Sprintf("$U%d", i), id)
	}
	return s
}

// Ensure every seed filter selects in SQL exactly what the evaluator selects, and that the
// valid ones are not vacuous.
func TestFilterTranslation(t *testing.T) {
	e := newFilterEnv(t)
	for _, rs := range []*resourceSchema{usersSchema, groupsSchema} {
		docs := e.evalDocs(rs)
		seeds := userFilterSeeds
		if rs == groupsSchema {
			seeds = groupFilterSeeds
		}
		valid := 0
		for _, s := range seeds {
			if e.check(t, rs, docs, e.expand(s)) {
				valid++
			}
		}
		if valid < len(seeds)*3/4 {
			t.Errorf("%s: only %d of %d seed filters were valid", rs.name, valid, len(seeds))
		}
	}
}

// FuzzUserFilter: the SQL translation of any valid filter agrees with the evaluator.
func FuzzUserFilter(f *testing.F) {
	for _, s := range userFilterSeeds {
		f.Add(s)
	}
	e := newFilterEnv(f)
	docs := e.evalDocs(usersSchema)
	f.Fuzz(func(t *testing.T, s string) {
		e.check(t, usersSchema, docs, s)
	})
}

// FuzzGroupFilter: the same for groups and their members.
func FuzzGroupFilter(f *testing.F) {
	e := newFilterEnv(f)
	for _, s := range groupFilterSeeds {
		f.Add(e.expand(s))
	}
	docs := e.evalDocs(groupsSchema)
	f.Fuzz(func(t *testing.T, s string) {
		e.check(t, groupsSchema, docs, s)
	})
}

// Ensure meta times are shown to the microsecond, as stored, and that a delta read with a
// watermark inside a second finds the change made later in that second, and only that one:
// Entra reads changes since its last run with meta.lastModified ge "…" and le "…".
func TestFilters_TimesWithinOneSecond(t *testing.T) {
	var clock time.Time
	e := newEnv(t, func(c *Config) { c.Now = func() time.Time { return clock } })
	clock = testNow.Add(350*time.Millisecond + 7*time.Microsecond + 900) // 05:06:07.350007 and 900 ns
	early := e.mustCreate("/Users", user("early"))
	clock = testNow.Add(600*time.Millisecond + 14*time.Microsecond)
	late := e.mustCreate("/Users", user("late"))
	r := e.do("GET", "/Users/"+late, nil)
	shown, _ := r.body["meta"].(map[string]any)["lastModified"].(string)
	if shown != "2026-03-04T05:06:07.600014Z" {
		t.Fatalf("meta.lastModified = %q, want the stored instant to the microsecond", shown)
	}
	find := func(filter string) []string {
		t.Helper()
		r := e.do("GET", "/Users?filter="+url.QueryEscape(filter), nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", filter, r.status, r.raw)
		}
		var ids []string
		for _, res := range r.body["Resources"].([]any) {
			ids = append(ids, res.(map[string]any)["id"].(string))
		}
		return ids
	}
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{`meta.lastModified ge "2026-03-04T05:06:07.500Z" and meta.lastModified le "2026-03-04T05:06:08Z"`, []string{late}},
		{`meta.lastModified gt "2026-03-04T05:06:07.350007Z"`, []string{late}},
		{`meta.lastModified eq "` + shown + `"`, []string{late}},
		{`meta.lastModified le "2026-03-04T05:06:07.6000139Z"`, []string{early}},
		{`meta.lastModified ge "2026-03-04T05:06:07.6000139Z"`, []string{late}},
		{`meta.lastModified lt "2026-03-04T05:06:07.350008Z"`, []string{early}},
		{`meta.created ge "2026-03-04T05:06:07Z" and meta.created lt "2026-03-04T05:06:08Z"`, []string{early, late}},
	} {
		if got := find(tc.filter); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.filter, got, tc.want)
		}
	}
}

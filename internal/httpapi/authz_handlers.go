package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/internal/authz"
	"github.com/rolegate/rolegate/models"
)

// Limits of the decision API.
const (
	// MaxBatchChecks is the most checks one batch may hold.
	MaxBatchChecks = 100
	// MaxCheckName is the longest resource or action a check may name, in
	// characters.
	MaxCheckName = 128
)

var authzResource = models.Resource{Type: models.ResourceAuthz}

// checkInput is one question to the policy, as a client asks it.
type checkInput struct {
	Resource *string `json:"resource"`
	Action   *string `json:"action"`
	OwnerID  *int64  `json:"owner_id"`
	Subject  object  `json:"subject"`
	// Tenant names the tenant the question is about, by slug or id.
	Tenant *string `json:"tenant"`
}

type subjectInput struct {
	UserID *int64 `json:"user_id"`
}

type batchInput struct {
	Checks *[]object `json:"checks"`
}

// question is a validated check. A subjectID of 0 means the caller; a
// tenant of "" means a question outside tenants.
type question struct {
	resource  models.Resource
	action    string
	subjectID int64
	tenant    string
}

// checkResult is the policy's answer to one question: the rule that
// allowed it, or no rule, and the layer of the subject it allowed
// (models.Decision.Via), absent on a deny.
type checkResult struct {
	Allowed bool     `json:"allowed"`
	Rule    []string `json:"rule"`
	Via     string   `json:"via,omitempty"`
}

// check answers whether a subject, the caller unless they name another,
// may do an action on a resource. Allowed or not, the answer is 200: the
// caller asked a question, not to be let in.
func (h *handler) check(c *gin.Context) error {
	pol := h.policies.Current()
	body, err := readBody(c)
	if err != nil {
		return err
	}
	q, err := parseCheck(body)
	if err != nil {
		return err
	}
	results, err := h.answer(c, pol, []question{q})
	if err != nil {
		return err
	}
	answer := gin.H{"allowed": results[0].Allowed, "rule": results[0].Rule, "policy_version": pol.Version()}
	if results[0].Via != "" {
		answer["via"] = results[0].Via
	}
	c.JSON(http.StatusOK, answer)
	return nil
}

// checkBatch answers up to MaxBatchChecks questions, all from one policy.
func (h *handler) checkBatch(c *gin.Context) error {
	pol := h.policies.Current()
	var in batchInput
	if err := decode(c, &in); err != nil {
		return err
	}
	qs, err := parseChecks(in.Checks)
	if err != nil {
		return err
	}
	results, err := h.answer(c, pol, qs)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"results": results, "policy_version": pol.Version()})
	return nil
}

// parseCheck reads and validates one check: a body, or an item of a batch.
func parseCheck(body []byte) (question, error) {
	var in checkInput
	if err := decodeJSON(body, &in); err != nil {
		return question{}, err
	}
	f := fieldErrors{}
	q := question{
		resource: models.Resource{Type: checkName(f, "resource", in.Resource), OwnerID: positiveID(f, "owner_id", in.OwnerID)},
		action:   checkName(f, "action", in.Action),
	}
	if in.Tenant != nil {
		q.tenant = checkName(f, "tenant", in.Tenant)
	}
	if in.Subject != nil {
		var s subjectInput
		if err := f.addAll(underField("subject", decodeJSON(in.Subject, &s))); err != nil {
			return question{}, err
		}
		if s.UserID == nil && len(f["subject"]) == 0 {
			f.add("subject.user_id", "This field is required.")
		}
		q.subjectID = positiveID(f, "subject.user_id", s.UserID)
	}
	return q, f.err()
}

// parseChecks validates a batch, naming each problem by its place
// ("checks[3].action").
func parseChecks(items *[]object) ([]question, error) {
	switch {
	case items == nil:
		return nil, models.FieldError("checks", "This field is required.")
	case len(*items) == 0:
		return nil, models.FieldError("checks", "Ensure this field has at least 1 elements.")
	case len(*items) > MaxBatchChecks:
		return nil, models.FieldError("checks", fmt.Sprintf("Ensure this field has no more than %d elements.", MaxBatchChecks))
	}
	f := fieldErrors{}
	qs := make([]question, len(*items))
	for i, item := range *items {
		q, err := parseCheck(item)
		if err := f.addAll(underField(fmt.Sprintf("checks[%d]", i), err)); err != nil {
			return nil, err
		}
		qs[i] = q
	}
	return qs, f.err()
}

// checkName validates a resource or an action. It is not trimmed: the
// policy compares names exactly, and so does the answer.
func checkName(f fieldErrors, field string, v *string) string {
	switch {
	case v == nil:
		f.add(field, "This field is required.")
	case *v == "":
		f.add(field, "This field may not be blank.")
	case utf8.RuneCountInString(*v) > MaxCheckName:
		f.add(field, fmt.Sprintf("Ensure this field has no more than %d characters.", MaxCheckName))
	default:
		return *v
	}
	return ""
}

// positiveID validates an optional id; 0 means none was given.
func positiveID(f fieldErrors, field string, v *int64) int64 {
	if v == nil {
		return 0
	}
	if *v < 1 {
		f.add(field, "Ensure this value is greater than or equal to 1.")
		return 0
	}
	return *v
}

// answer decides every question with pol, the one policy the request
// took, so that a reload while it runs cannot split the answers between
// two versions.
func (h *handler) answer(c *gin.Context, pol *authz.Policy, qs []question) ([]checkResult, error) {
	c.Header("X-Policy-Version", pol.Version())
	subjects, err := h.subjects(c, pol, qs)
	if err != nil {
		return nil, err
	}
	results := make([]checkResult, len(qs))
	views := map[viewKey]tenantView{}
	for i, q := range qs {
		d, err := h.decideCheck(c, pol, subjects[i], q, views)
		if err != nil {
			return nil, err
		}
		results[i] = checkResult{Allowed: d.Allowed, Rule: d.Rule, Via: d.Via}
		if results[i].Rule == nil {
			results[i].Rule = []string{}
		}
	}
	return results, nil
}

// viewKey is one subject's view of one tenant, as a check names it.
type viewKey struct {
	ref       string
	subjectID int64
}

// decideCheck decides one question. A question about a tenant is decided
// with the subject's standing in it, read once per request for each
// tenant and subject in views; a tenant the subject may not see, or that
// does not exist, is a plain deny, and so is a yes that an inactive tenant
// refuses. A yes through a break-glass grant is audited.
func (h *handler) decideCheck(c *gin.Context, pol *authz.Policy, sub models.Subject, q question, views map[viewKey]tenantView) (models.Decision, error) {
	if q.tenant == "" {
		return h.decide(pol, sub, q.resource, q.action)
	}
	key := viewKey{q.tenant, sub.ID}
	view, ok := views[key]
	if !ok {
		var err error
		if view, err = h.viewTenant(c.Request.Context(), pol, sub, q.tenant); err != nil {
			return models.Decision{}, err
		}
		views[key] = view
	}
	if !view.Visible {
		return models.Decision{PolicyVersion: pol.Version()}, nil
	}
	d, _, err := h.decideIn(view, q.resource, q.action)
	if err == nil && d.Via == models.ViaBreakGlass {
		h.recordBreakGlassDecision(c, view, d, q.resource, q.action)
	}
	return d, err
}

// subjects finds who each question is about: the caller, as stored now,
// or the user it names. Naming someone else is itself a decision (authz,
// check_others), taken before any lookup so that a caller who may not ask
// cannot probe which ids exist.
func (h *handler) subjects(c *gin.Context, pol *authz.Policy, qs []question) ([]models.Subject, error) {
	caller := principal(c.Request.Context())
	known := map[int64]models.Subject{0: subject(caller), caller.ID: subject(caller)}
	if namesOthers(qs, known) {
		if _, err := h.authorize(c, pol, authzResource, models.ActionCheckOthers); err != nil {
			return nil, err
		}
	}
	out := make([]models.Subject, len(qs))
	for i, q := range qs {
		s, ok := known[q.subjectID]
		if !ok {
			var err error
			if s, err = h.subjectByID(c.Request.Context(), q.subjectID); err != nil {
				return nil, err
			}
			known[q.subjectID] = s
		}
		out[i] = s
	}
	return out, nil
}

func namesOthers(qs []question, known map[int64]models.Subject) bool {
	for _, q := range qs {
		if _, ok := known[q.subjectID]; !ok {
			return true
		}
	}
	return false
}

// subjectByID is the subject a named user is, as stored now: read as the
// authentication path reads the caller (CurrentUser), whose cache every
// write to the user invalidates before it answers, on this replica at
// once and on others when PostgreSQL notifies them. A deactivated user is
// asked about as anonymous, which is what their requests are.
func (h *handler) subjectByID(ctx context.Context, id int64) (models.Subject, error) {
	u, err := h.users.CurrentUser(ctx, id)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return models.Subject{}, models.Errorf(models.ENOTFOUND, "There is no user with id %d to check.", id)
	}
	if err != nil {
		return models.Subject{}, err
	}
	if !u.IsActive {
		return subject(nil), nil
	}
	return subject(u), nil
}

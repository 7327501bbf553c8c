/* SPDX-License-Identifier: Apache-2.0 */
/* export.c - an audit record as a text line, a JSON object, a DICOM PS3.15 A.5 AuditMessage and
 * a FHIR R4 AuditEvent.
 *
 * Mapping (docs/audit.md "Exports"): the action's EventID/EventTypeCode/EventActionCode come
 * from the action table (event.c); actor -> ActiveParticipant UserID / agent.who, session ->
 * AlternativeUserID / agent.altId, role -> RoleIDCode / agent.role, client ->
 * NetworkAccessPointID / agent.network, purpose -> ParticipantObjectDetail "PurposeOfUse" /
 * purposeOfEvent, detail -> EventOutcomeDescription / outcomeDesc, each object -> a
 * ParticipantObjectIdentification / entity identified by its pseudonym (hex).  No field can
 * hold PHI: the record has none to give.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/audit_int.h"

#include "common/banned.h"

#define DCM_SYSTEM   "http://dicom.nema.org/resources/ontology/DCM"
#define LOCAL_SYSTEM "urn:dcmvault:codes"

dv_err audit_xml_escape(dv_buf *out, const char *s)
{
    dv_err e = DV_OK;

    for (; !e && *s; s++) {
        switch (*s) {
        case '&':
            e = dv_buf_adds(out, "&amp;");
            break;
        case '<':
            e = dv_buf_adds(out, "&lt;");
            break;
        case '>':
            e = dv_buf_adds(out, "&gt;");
            break;
        case '"':
            e = dv_buf_adds(out, "&quot;");
            break;
        case '\'':
            e = dv_buf_adds(out, "&apos;");
            break;
        default:
            e = dv_buf_addc(out, (uint8_t)*s);
        }
    }
    return e;
}

dv_err audit_json_escape(dv_buf *out, const char *s)
{
    dv_err e = dv_buf_addc(out, '"');

    for (; !e && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            e = dv_buf_printf(out, "\\%c", c);
        else if (c < 0x20)
            e = dv_buf_printf(out, "\\u%04x", c);
        else
            e = dv_buf_addc(out, c);
    }
    return e ? e : dv_buf_addc(out, '"');
}

static void hex32(const uint8_t p[AUDIT_PSEUDONYM_BYTES], char out[2 * AUDIT_PSEUDONYM_BYTES + 1])
{
    (void)sodium_bin2hex(out, 2 * AUDIT_PSEUDONYM_BYTES + 1, p, AUDIT_PSEUDONYM_BYTES);
}

/* ---- text and JSON lines --------------------------------------------------------------------- */

dv_err audit_format_text(const audit_record *r, audit_resolve_fn resolve, void *ctx, dv_buf *out)
{
    const audit_action_info *ai = audit_action_get(r->action);
    char t[AUDIT_TIME_LEN], hex[65], name[256];
    size_t i;
    dv_err e;

    audit_time_format(r->time_ms, t);
    e = dv_buf_printf(out, "%llu %s %s outcome=%d actor=%s", (unsigned long long)r->seq, t,
                      ai ? ai->name : "?", (int)r->outcome, r->actor);
    if (!e && r->role[0])
        e = dv_buf_printf(out, " role=%s", r->role);
    if (!e && r->purpose[0])
        e = dv_buf_printf(out, " purpose=%s", r->purpose);
    if (!e && r->client[0])
        e = dv_buf_printf(out, " client=%s", r->client);
    if (!e && r->session[0])
        e = dv_buf_printf(out, " session=%s", r->session);
    for (i = 0; !e && i < r->nobjects; i++) {
        hex32(r->objects[i].pseudonym, hex);
        name[0] = 0;
        if (resolve && resolve(ctx, &r->objects[i], name, sizeof(name)) && name[0])
            e = dv_buf_printf(out, " %s=%s(%s)", audit_obj_type_name(r->objects[i].type), name,
                              hex);
        else
            e = dv_buf_printf(out, " %s=%s", audit_obj_type_name(r->objects[i].type), hex);
    }
    if (!e && r->detail[0]) {
        e = dv_buf_adds(out, " detail=");
        if (!e)
            e = audit_json_escape(out, r->detail);
    }
    return e;
}

static dv_err json_field(dv_buf *out, const char *key, const char *v)
{
    dv_err e = dv_buf_printf(out, ",\"%s\":", key);

    return e ? e : audit_json_escape(out, v);
}

dv_err audit_format_json(const audit_record *r, audit_resolve_fn resolve, void *ctx, dv_buf *out)
{
    const audit_action_info *ai = audit_action_get(r->action);
    char t[AUDIT_TIME_LEN], hex[65], name[256];
    size_t i;
    dv_err e;

    audit_time_format(r->time_ms, t);
    e = dv_buf_printf(out,
                      "{\"seq\":%llu,\"time\":\"%s\",\"action\":\"%s\",\"event_id\":\"%s\","
                      "\"outcome\":%d",
                      (unsigned long long)r->seq, t, ai ? ai->name : "?", ai ? ai->event_id : "",
                      (int)r->outcome);
    if (!e)
        e = json_field(out, "actor", r->actor);
    if (!e)
        e = json_field(out, "role", r->role);
    if (!e)
        e = json_field(out, "purpose", r->purpose);
    if (!e)
        e = json_field(out, "client", r->client);
    if (!e)
        e = json_field(out, "session", r->session);
    if (!e)
        e = dv_buf_adds(out, ",\"objects\":[");
    for (i = 0; !e && i < r->nobjects; i++) {
        hex32(r->objects[i].pseudonym, hex);
        e = dv_buf_printf(out, "%s{\"type\":\"%s\",\"pseudonym\":\"%s\"", i ? "," : "",
                          audit_obj_type_name(r->objects[i].type), hex);
        name[0] = 0;
        if (!e && resolve && resolve(ctx, &r->objects[i], name, sizeof(name)) && name[0])
            e = json_field(out, "resolved", name);
        if (!e)
            e = dv_buf_addc(out, '}');
    }
    if (!e)
        e = dv_buf_addc(out, ']');
    if (!e)
        e = json_field(out, "detail", r->detail);
    return e ? e : dv_buf_addc(out, '}');
}

/* ---- DICOM PS3.15 A.5 ------------------------------------------------------------------------ */

typedef struct obj_coding {
    int type_code, role;
    const char *id_code, *id_meaning;
} obj_coding;

static obj_coding obj_code(audit_obj_type t)
{
    static const obj_coding c[5] = {
        {4, 4, "PSEUDO", "Pseudonym"},
        {1, 1, "PSEUDO-PATIENT", "Patient pseudonym"},
        {2, 3, "PSEUDO-STUDY", "Study pseudonym"},
        {2, 4, "PSEUDO-SERIES", "Series pseudonym"},
        {2, 4, "PSEUDO-INSTANCE", "Instance pseudonym"},
    };
    return ((int)t >= 1 && (int)t <= 4) ? c[t] : c[0];
}

/* 2 (IP address) when s looks like an IPv4 or IPv6 address, else 1 (machine name). */
static int nap_type(const char *s)
{
    return strspn(s, "0123456789.") == strlen(s) || strchr(s, ':') ? 2 : 1;
}

static dv_err xml_attr(dv_buf *out, const char *name, const char *v)
{
    dv_err e = dv_buf_printf(out, " %s=\"", name);

    if (!e)
        e = audit_xml_escape(out, v);
    return e ? e : dv_buf_addc(out, '"');
}

static dv_err xml_code(dv_buf *out, const char *elem, const char *code, const char *scheme,
                       const char *meaning)
{
    dv_err e = dv_buf_printf(out, "<%s", elem);

    if (!e)
        e = xml_attr(out, "csd-code", code);
    if (!e)
        e = xml_attr(out, "codeSystemName", scheme);
    if (!e)
        e = xml_attr(out, "originalText", meaning);
    return e ? e : dv_buf_adds(out, "/>");
}

static dv_err xml_event(const audit_record *r, const audit_action_info *ai, dv_buf *out)
{
    char t[AUDIT_TIME_LEN];
    dv_err e;

    audit_time_format(r->time_ms, t);
    e = dv_buf_printf(out,
                      "<EventIdentification EventActionCode=\"%c\" EventDateTime=\"%s\" "
                      "EventOutcomeIndicator=\"%d\">",
                      ai->action_code, t, (int)r->outcome);
    if (!e)
        e = xml_code(out, "EventID", ai->event_id, "DCM", ai->event_meaning);
    if (!e && ai->type_code)
        e = xml_code(out, "EventTypeCode", ai->type_code, ai->type_scheme, ai->type_meaning);
    if (!e && r->detail[0]) {
        e = dv_buf_adds(out, "<EventOutcomeDescription>");
        if (!e)
            e = audit_xml_escape(out, r->detail);
        if (!e)
            e = dv_buf_adds(out, "</EventOutcomeDescription>");
    }
    return e ? e : dv_buf_adds(out, "</EventIdentification>");
}

static dv_err xml_participant(const audit_record *r, dv_buf *out)
{
    dv_err e = dv_buf_adds(out, "<ActiveParticipant");

    if (!e)
        e = xml_attr(out, "UserID", r->actor);
    if (!e && r->session[0])
        e = xml_attr(out, "AlternativeUserID", r->session);
    if (!e)
        e = dv_buf_adds(out, " UserIsRequestor=\"true\"");
    if (!e && r->client[0]) {
        e = xml_attr(out, "NetworkAccessPointID", r->client);
        if (!e)
            e = dv_buf_printf(out, " NetworkAccessPointTypeCode=\"%d\"", nap_type(r->client));
    }
    if (!e)
        e = dv_buf_addc(out, '>');
    if (!e && r->role[0])
        e = xml_code(out, "RoleIDCode", r->role, "99DCMVAULT-ROLE", r->role);
    return e ? e : dv_buf_adds(out, "</ActiveParticipant>");
}

static dv_err xml_object(const audit_record *r, const audit_action_info *ai, const audit_object *o,
                         dv_buf *out)
{
    obj_coding c = obj_code(o->type);
    char hex[65], b64[64];
    dv_err e;

    hex32(o->pseudonym, hex);
    e = dv_buf_printf(out,
                      "<ParticipantObjectIdentification ParticipantObjectID=\"%s\" "
                      "ParticipantObjectTypeCode=\"%d\" ParticipantObjectTypeCodeRole=\"%d\"",
                      hex, c.type_code, c.role);
    if (!e && ai->lifecycle)
        e = dv_buf_printf(out, " ParticipantObjectDataLifeCycle=\"%d\"", ai->lifecycle);
    if (!e)
        e = dv_buf_addc(out, '>');
    if (!e)
        e = xml_code(out, "ParticipantObjectIDTypeCode", c.id_code, "99DCMVAULT", c.id_meaning);
    if (!e && r->purpose[0]) {
        audit_b64_encode((const uint8_t *)r->purpose, strlen(r->purpose), b64, sizeof(b64));
        e = dv_buf_printf(out, "<ParticipantObjectDetail type=\"PurposeOfUse\" value=\"%s\"/>",
                          b64);
    }
    return e ? e
             : dv_buf_adds(out, "<ParticipantObjectDescription><ParticipantObjectContainsStudy/>"
                                "</ParticipantObjectDescription>"
                                "</ParticipantObjectIdentification>");
}

dv_err audit_format_dicom_xml(const audit_record *r, const char *source_id, dv_buf *out)
{
    const audit_action_info *ai = audit_action_get(r->action);
    size_t i;
    dv_err e;

    if (!ai)
        return DV_EINVAL;
    e = dv_buf_adds(out, "<AuditMessage>");
    if (!e)
        e = xml_event(r, ai, out);
    if (!e)
        e = xml_participant(r, out);
    if (!e)
        e = dv_buf_adds(out, "<AuditSourceIdentification");
    if (!e)
        e = xml_attr(out, "AuditSourceID", source_id ? source_id : "dcmvault");
    if (!e)
        e = dv_buf_adds(out, "><AuditSourceTypeCode csd-code=\"4\"/></AuditSourceIdentification>");
    for (i = 0; !e && i < r->nobjects; i++)
        e = xml_object(r, ai, &r->objects[i], out);
    return e ? e : dv_buf_adds(out, "</AuditMessage>");
}

/* ---- FHIR R4 AuditEvent ---------------------------------------------------------------------- */

static dv_err fhir_coding(dv_buf *out, const char *system, const char *code, const char *display)
{
    dv_err e = dv_buf_printf(out, "{\"system\":\"%s\",\"code\":", system);

    if (!e)
        e = audit_json_escape(out, code);
    if (!e)
        e = dv_buf_adds(out, ",\"display\":");
    if (!e)
        e = audit_json_escape(out, display);
    return e ? e : dv_buf_addc(out, '}');
}

static dv_err fhir_agent(const audit_record *r, dv_buf *out)
{
    dv_err e = dv_buf_adds(out, ",\"agent\":[{");

    if (!e && r->role[0]) {
        e = dv_buf_adds(out, "\"role\":[{\"text\":");
        if (!e)
            e = audit_json_escape(out, r->role);
        if (!e)
            e = dv_buf_adds(out, "}],");
    }
    if (!e)
        e = dv_buf_adds(out, "\"who\":{\"identifier\":{\"value\":");
    if (!e)
        e = audit_json_escape(out, r->actor);
    if (!e)
        e = dv_buf_adds(out, "}}");
    if (!e && r->session[0])
        e = json_field(out, "altId", r->session);
    if (!e)
        e = dv_buf_adds(out, ",\"requestor\":true");
    if (!e && r->client[0]) {
        e = dv_buf_adds(out, ",\"network\":{\"address\":");
        if (!e)
            e = audit_json_escape(out, r->client);
        if (!e)
            e = dv_buf_printf(out, ",\"type\":\"%d\"}", nap_type(r->client));
    }
    return e ? e : dv_buf_adds(out, "}]");
}

static dv_err fhir_entity(const audit_object *o, const audit_action_info *ai, dv_buf *out,
                          int first)
{
    static const char *role_names[5] = {"", "Patient", "", "Report", "Resource"};
    obj_coding c = obj_code(o->type);
    char hex[65];
    dv_err e;

    hex32(o->pseudonym, hex);
    e = dv_buf_printf(out,
                      "%s{\"what\":{\"identifier\":{\"system\":\"urn:dcmvault:pseudonym:%s\","
                      "\"value\":\"%s\"}},\"type\":",
                      first ? "" : ",", audit_obj_type_name(o->type), hex);
    if (!e)
        e = fhir_coding(out, "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                        c.type_code == 1 ? "1" : "2",
                        c.type_code == 1 ? "Person" : "System Object");
    if (!e)
        e = dv_buf_adds(out, ",\"role\":");
    if (!e)
        e = fhir_coding(out, "http://terminology.hl7.org/CodeSystem/object-role",
                        c.role == 1   ? "1"
                        : c.role == 3 ? "3"
                                      : "4",
                        role_names[c.role]);
    if (!e && ai->lifecycle)
        e = dv_buf_printf(out,
                          ",\"lifecycle\":{\"system\":\"http://terminology.hl7.org/CodeSystem/"
                          "dicom-audit-lifecycle\",\"code\":\"%d\"}",
                          ai->lifecycle);
    return e ? e : dv_buf_addc(out, '}');
}

static dv_err fhir_head(const audit_record *r, const audit_action_info *ai, dv_buf *out)
{
    char t[AUDIT_TIME_LEN];
    dv_err e;

    audit_time_format(r->time_ms, t);
    e = dv_buf_printf(out, "{\"resourceType\":\"AuditEvent\",\"id\":\"seq-%llu\",\"type\":",
                      (unsigned long long)r->seq);
    if (!e)
        e = fhir_coding(out, DCM_SYSTEM, ai->event_id, ai->event_meaning);
    if (!e && ai->type_code) {
        e = dv_buf_adds(out, ",\"subtype\":[");
        if (!e)
            e = fhir_coding(out, strcmp(ai->type_scheme, "DCM") ? LOCAL_SYSTEM : DCM_SYSTEM,
                            ai->type_code, ai->type_meaning);
        if (!e)
            e = dv_buf_addc(out, ']');
    }
    if (!e)
        e = dv_buf_printf(out, ",\"action\":\"%c\",\"recorded\":\"%s\",\"outcome\":\"%d\"",
                          ai->action_code, t, (int)r->outcome);
    if (!e && r->detail[0])
        e = json_field(out, "outcomeDesc", r->detail);
    if (!e && r->purpose[0]) {
        e = dv_buf_adds(out, ",\"purposeOfEvent\":[{\"coding\":[{\"system\":\"http://"
                             "terminology.hl7.org/CodeSystem/v3-ActReason\",\"code\":");
        if (!e)
            e = audit_json_escape(out, r->purpose);
        if (!e)
            e = dv_buf_adds(out, "}]}]");
    }
    return e;
}

dv_err audit_format_fhir(const audit_record *r, const char *source_id, dv_buf *out)
{
    const audit_action_info *ai = audit_action_get(r->action);
    size_t i;
    dv_err e;

    if (!ai)
        return DV_EINVAL;
    e = fhir_head(r, ai, out);
    if (!e)
        e = fhir_agent(r, out);
    if (!e)
        e = dv_buf_adds(out, ",\"source\":{\"observer\":{\"display\":");
    if (!e)
        e = audit_json_escape(out, source_id ? source_id : "dcmvault");
    if (!e)
        e = dv_buf_adds(out, "},\"type\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
                             "security-source-type\",\"code\":\"4\",\"display\":"
                             "\"Application Server\"}]}");
    if (!e && r->nobjects)
        e = dv_buf_adds(out, ",\"entity\":[");
    for (i = 0; !e && i < r->nobjects; i++)
        e = fhir_entity(&r->objects[i], ai, out, i == 0);
    if (!e && r->nobjects)
        e = dv_buf_addc(out, ']');
    return e ? e : dv_buf_addc(out, '}');
}

# Set-up for openapi/run.sh: a tenant token, a few resources to find, and the schemathesis config.
# Usage: setup.py DIR (DIR holds creds.json; writes DIR/env and DIR/schemathesis.toml).
import base64, json, sys, urllib.error, urllib.request

d = sys.argv[1]
creds = json.load(open(f"{d}/creds.json"))
base, demo = creds["base_url"], creds["demo"]


def call(method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


token = call("POST", "/open-apis/auth/v3/tenant_access_token/internal",
             {"app_id": demo["app_id"], "app_secret": demo["app_secret"]})["tenant_access_token"]
helpdesk = base64.b64encode(f"{demo['helpdesk_id']}:{demo['helpdesk_token']}".encode()).decode()
feishu_headers = {"Authorization": f"Bearer {token}", "X-Lark-Helpdesk-Authorization": helpdesk}


def feishu(method, path, body=None):
    r = call(method, "/open-apis/helpdesk/v1" + path, body, feishu_headers)
    if r.get("code") != 0:
        raise SystemExit(f"setup: {method} {path}: {r}")
    return r["data"]


category = feishu("POST", "/categories", {"name": "openapi", "parent_id": "0"})["category"]["category_id"]
faq = feishu("POST", "/faqs", {"faq": {"category_id": category, "question": "How?", "answer": "So."}})["faq"]["faq_id"]
feishu("POST", "/ticket_customized_fields", {
    "key_name": "openapi", "display_name": "OpenAPI", "position": "1", "field_type": "string",
    "description": "", "visible": True, "required": False})
fields = [f["ticket_customized_field_id"] for f in feishu("GET", "/ticket_customized_fields")["items"]]
skill = feishu("POST", "/agent_skills", {"name": "openapi", "rules": [], "agent_ids": []})["agent_skill_id"]
admin = {"Authorization": f"Bearer {creds['admin_token']}"}
users = call("GET", "/larkdesk/admin/v1/users", headers=admin)["data"]["users"]
agents = [u["open_id"] for u in users if u["is_agent"]]
guests = [u["open_id"] for u in users if not u["is_agent"]] or ["ou_none"]
notification = feishu("POST", "/notifications", {
    "job_name": "openapi", "push_content": '{"elements":[]}', "push_type": 0, "push_scope_type": 2,
    "user_list": [{"user_id": guests[0]}]})["notification_id"]

with open(f"{d}/env", "w") as f:
    f.write(f"BASE={base}\nTOKEN={token}\nHELPDESK={helpdesk}\nADMIN={creds['admin_token']}\n")

dictionaries = {
    "tickets": demo["ticket_ids"], "helpdesks": [demo["helpdesk_id"]], "apps": [demo["app_id"]],
    "tenants": [demo["tenant_key"]], "ids": [category, faq] + fields, "faqs": [faq],
    "skills": [skill], "notifications": [notification], "agents": agents or ["none"],
}
parameters = {
    "path.ticket_id": ("tickets", 0.5), "query.ticket_id": ("tickets", 0.5),
    "path.helpdesk_id": ("helpdesks", 0.7), "path.app_id": ("apps", 0.7),
    "path.tenant_key": ("tenants", 0.7), "path.id": ("ids", 0.5), "path.faq_id": ("faqs", 0.5),
    "path.agent_skill_id": ("skills", 0.5), "path.notification_id": ("notifications", 0.5),
    "path.agent_id": ("agents", 0.5), "path.open_id": ("agents", 0.5),
}
with open(f"{d}/schemathesis.toml", "w") as f:
    for name, values in dictionaries.items():
        f.write(f"[dictionaries.{name}]\nvalues = {json.dumps(values)}\n")
    f.write("[parameters]\n")
    for key, (name, p) in parameters.items():
        f.write(f'"{key}" = {{ dictionary = "{name}", probability = {p} }}\n')

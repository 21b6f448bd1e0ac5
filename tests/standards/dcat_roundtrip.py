"""dcat_roundtrip.py EXPORT POLICY... - read a DCAT-AP export back as RDF.

rdflib parses the JSON-LD (its inline context only, offline) and, for each
dataset whose policy file is given, the test recovers from the triples alone
the purposes, modifiers, lawful bases, regions, row limit and access period
of its odrl:Offer, and compares them with the policy as published (mapped
here from docs/policy.md and docs/dcat-ap.md, not from the exporter's code).
The distribution's byte size and SHA-256 must come through with their
datatypes, equal to what the JSON says. Exits 1 on the first difference.
"""
import json
import sys

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, XSD

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
ODRL = Namespace("http://www.w3.org/ns/odrl/2/")
SPDX = Namespace("http://spdx.org/rdf/terms#")
DPV = Namespace("https://w3id.org/dpv#")
ECLUSE = Namespace("https://ecluse.invalid/ns#")
OBO = "http://purl.obolibrary.org/obo/"
GDPR = "https://w3id.org/dpv/dpv-gdpr#"
COUNTRY = "http://publications.europa.eu/resource/authority/country/"

# DUO codes (docs/policy.md) and their DUO term numbers.
DUO = {"NRES": "0000004", "GRU": "0000042", "HMB": "0000006", "DS": "0000007",
       "POA": "0000011", "NCU": "0000046", "NPU": "0000045", "NPUNCU": "0000018",
       "IRB": "0000021", "GS": "0000022", "IS": "0000028", "US": "0000026",
       "NPOA": "0000044", "TS": "0000025", "MOR": "0000024", "PUB": "0000019",
       "COL": "0000020", "RTN": "0000029"}
ALPHA3 = {"AT": "AUT", "BE": "BEL", "BG": "BGR", "CY": "CYP", "CZ": "CZE", "DE": "DEU",
          "DK": "DNK", "EE": "EST", "ES": "ESP", "FI": "FIN", "FR": "FRA", "GR": "GRC",
          "HR": "HRV", "HU": "HUN", "IE": "IRL", "IS": "ISL", "IT": "ITA", "LI": "LIE",
          "LT": "LTU", "LU": "LUX", "LV": "LVA", "MT": "MLT", "NL": "NLD", "NO": "NOR",
          "PL": "POL", "PT": "PRT", "RO": "ROU", "SE": "SWE", "SI": "SVN", "SK": "SVK"}
EEA = sorted(ALPHA3)  # the EU's 27, Iceland, Liechtenstein and Norway


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def duo(code):
    return URIRef(OBO + "DUO_" + DUO["DS" if code.startswith("DS-") else code])


def constraints(g, rule):
    """{leftOperand: (operator, set of right operands)} of one rule."""
    out = {}
    for c in g.objects(rule, ODRL.constraint):
        left = g.value(c, ODRL.leftOperand)
        if left == DPV.hasLegalBasis:
            continue  # one per GDPR article, read below
        if left in out:
            fail(f"two constraints on {left} in one rule")
        out[left] = (g.value(c, ODRL.operator), set(g.objects(c, ODRL.rightOperand)))
    return out


def check_dataset(g, doc, policy):
    ds = g.value(predicate=DCT.identifier, object=Literal(policy["dataset"]))
    if ds is None:
        fail(f"no dataset {policy['dataset']} in the export")
    offer = g.value(ds, ODRL.hasPolicy)
    if (offer, RDF.type, ODRL.Offer) not in g:
        fail(f"{ds}: odrl:hasPolicy is not an odrl:Offer")
    allowed = policy["purposes"]["allowed"]
    want_purposes = {duo(c) for c in allowed}
    rules = list(g.objects(offer, ODRL.permission))
    main = [r for r in rules if constraints(g, r).get(ODRL.purpose, (None, set()))[1] == want_purposes]
    if len(main) != 1:
        fail(f"{ds}: no single permission for purposes {allowed}")
    c = constraints(g, main[0])
    if g.value(main[0], ODRL.action) != ODRL.use:
        fail(f"{ds}: the permission's action is not odrl:use")
    if c[ODRL.purpose][0] != ODRL.isAnyOf:
        fail(f"{ds}: purposes are not odrl:isAnyOf")
    diseases = {Literal(p[3:]) for p in allowed if p.startswith("DS-")}
    if diseases and c[ECLUSE.disease][1] != diseases:
        fail(f"{ds}: diseases {c[ECLUSE.disease][1]} != {diseases}")
    mods = {duo(m) for m in policy["purposes"].get("modifiers", [])}
    got_mods = c.get(ECLUSE.dataUseModifier, (None, set()))[1]
    if got_mods != mods:
        fail(f"{ds}: modifiers {sorted(got_mods)} != {sorted(mods)}")
    bases = {URIRef(GDPR + "A" + b[3:]) for b in policy.get("lawful_bases", [])}
    got_bases = {o for r in g.objects(main[0], ODRL.constraint)
                 if g.value(r, ODRL.leftOperand) == DPV.hasLegalBasis
                 for o in g.objects(r, ODRL.rightOperand)}
    if got_bases != bases:
        fail(f"{ds}: lawful bases {sorted(got_bases)} != {sorted(bases)}")
    area = policy["purposes"].get("geographic_area", [])
    regions = set()
    for a in area:
        for cc in (EEA if a == "EEA" else [a]):
            regions.add(URIRef(COUNTRY + ALPHA3[cc]))
    got_regions = c.get(ODRL.spatial, (None, set()))[1]
    if got_regions != regions:
        fail(f"{ds}: regions {sorted(got_regions)} != {sorted(regions)}")
    rows = policy["minimisation"]["default"].get("max_rows")
    op, right = c[ECLUSE.rowCount]
    if op != ODRL.lteq or right != {Literal(rows, datatype=XSD.nonNegativeInteger)}:
        fail(f"{ds}: row limit {op} {right} != lteq {rows}")
    until = policy.get("storage", {}).get("access_until")
    if until and c[ODRL.dateTime][1] != {Literal(until, datatype=XSD.date)}:
        fail(f"{ds}: access period {c[ODRL.dateTime]} != {until}")
    days = policy.get("storage", {}).get("max_grant_days")
    if days and c[ODRL.elapsedTime][1] != {Literal(f"P{days}D", datatype=XSD.duration)}:
        fail(f"{ds}: grant length {c[ODRL.elapsedTime]} != {days} days")
    duties = {g.value(d, ODRL.action) for d in g.objects(main[0], ODRL.duty)}
    if policy.get("research", {}).get("ethics_approval_required") and \
            ECLUSE.obtainEthicsApproval not in duties:
        fail(f"{ds}: no ethics approval duty")
    if "PUB" in policy["purposes"].get("modifiers", []) and ECLUSE.publishResults not in duties:
        fail(f"{ds}: no publication duty")
    for code, scope in policy["minimisation"].get("by_purpose", {}).items():
        own = [r for r in rules if constraints(g, r)[ODRL.purpose][1] == {duo(code)}]
        if len(own) != 1 or constraints(g, own[0])[ECLUSE.rowCount][1] != \
                {Literal(scope["max_rows"], datatype=XSD.nonNegativeInteger)}:
            fail(f"{ds}: no permission of {code} with its own row limit {scope['max_rows']}")

    # The distribution: size and SHA-256 with their datatypes, as in the JSON.
    dist = g.value(ds, DCAT.distribution)
    size = g.value(dist, DCAT.byteSize)
    sum_node = g.value(dist, SPDX.checksum)
    value = g.value(sum_node, SPDX.checksumValue)
    if g.value(sum_node, SPDX.algorithm) != SPDX.checksumAlgorithm_sha256:
        fail(f"{ds}: the checksum is not SHA-256")
    if size is None or size.datatype != XSD.nonNegativeInteger or value is None or \
            value.datatype != XSD.hexBinary:
        fail(f"{ds}: byte size {size!r} or checksum {value!r} lost its datatype")
    j = next(d for d in doc["@graph"][0]["dcat:dataset"] if d["dct:identifier"] == policy["dataset"])
    jd = j["dcat:distribution"][0]
    if int(size) != int(jd["dcat:byteSize"]["@value"]) or \
            str(value) != jd["spdx:checksum"]["spdx:checksumValue"]["@value"] or \
            len(str(value)) != 64:
        fail(f"{ds}: byte size {size} / SHA-256 {value} differ from the JSON")
    print(f"{policy['dataset']}: {len(want_purposes)} purpose(s), {len(mods)} modifier(s), "
          f"{len(bases)} basis(es), {len(regions)} region(s), rows <= {rows}, "
          f"{int(size)} bytes, sha256 {str(value)[:16]}...")


def main():
    export, policies = sys.argv[1], sys.argv[2:]
    text = open(export).read()
    doc = json.loads(text)
    g = Graph()
    g.parse(data=text, format="json-ld")
    if len(g) < 50:
        fail(f"only {len(g)} triples: the context drops terms")
    # Nothing dropped: every key of every node is a term the context defines.
    prefixes = set(doc["@context"])

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if not k.startswith("@") and k.split(":", 1)[0] not in prefixes:
                    fail(f"key {k} is not in the context")
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(doc["@graph"])
    if not any(True for _ in g.triples((None, ODRL.permission, None))):
        fail("no ODRL permission survived JSON-LD processing")
    for p in policies:
        check_dataset(g, doc, json.load(open(p)))
    print(f"round trip: {len(g)} triples")


main()

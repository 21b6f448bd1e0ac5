// shacl_validate.mjs DATA SHAPES... - validate an RDF document (JSON-LD,
// Turtle) against SHACL shape files with rdf-validate-shacl, offline.
// Prints "conforms: true|false", the number of violations and one line per
// result (focus node, path, constraint, message); exits 0 only when the
// document conforms, 1 when it does not, 2 when a file cannot be read.
import rdf from '@zazuko/env-node'
import SHACLValidator from 'rdf-validate-shacl'

const [dataFile, ...shapeFiles] = process.argv.slice(2)
if (!dataFile || shapeFiles.length === 0) {
  console.error('usage: shacl_validate.mjs DATA SHAPES...')
  process.exit(2)
}

async function load (path) {
  try {
    return await rdf.dataset().import(rdf.fromFile(path))
  } catch (e) {
    console.error(`${path}: cannot parse: ${e.message}`)
    process.exit(2)
  }
}

const shapes = rdf.dataset()
for (const f of shapeFiles) for (const q of await load(f)) shapes.add(q)
const data = await load(dataFile)
if (data.size === 0) {
  console.error(`${dataFile}: no triples`)
  process.exit(2)
}
const report = await new SHACLValidator(shapes, { factory: rdf }).validate(data)
const violation = 'http://www.w3.org/ns/shacl#Violation'
const violations = report.results.filter(r => r.severity && r.severity.value === violation)
console.log(`triples: ${data.size}`)
console.log(`conforms: ${report.conforms}`)
console.log(`violations: ${violations.length}`)
for (const r of report.results) {
  const v = t => (t ? t.value : '-')
  console.log(`- ${v(r.focusNode)} ${v(r.path)} ${v(r.sourceConstraintComponent).replace(/.*#/, '')}: ` +
    r.message.map(m => m.value).join('; '))
}
process.exit(report.conforms ? 0 : 1)

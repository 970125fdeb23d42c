"""Backstage in and out: `import backstage` reads Backstage entity files into svcascode documents,
`export backstage` writes the catalogue as Backstage entities, with what import kept of the entities.

- `names`: RFC 1123 names, Backstage entity references and the rules Backstage holds names, labels,
  annotations and tags to.
- `emit`: svcascode documents as YAML text with a modeline and `# TODO` comments on placeholder values.
- `importer`: Backstage entities -> svcascode Service and Team documents, with a located note for each
  field that could not be mapped and each required field Backstage does not have.
- `exporter`: Services and Teams -> Component, Resource, API, Group and User entities (and the Systems and
  Domains kept on teams), with tier, SLA target and compliance status as annotations and labels.
"""

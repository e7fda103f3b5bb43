import { builds, discoverDirectory } from './helpers/references.js'
import { composeSource, scanCompose } from '../src/sources/compose/compose.js'
import { parseDotenv } from '../src/sources/compose/dotenv.js'
import { DEFAULT_PATTERNS, sourceFor } from '../src/sources/index.js'
import { formatReference } from '../src/reference/reference.js'
import fg from 'fast-glob'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { scanContext } from './helpers/scan-context.js'

const images = (scan: ReturnType<typeof scanCompose>) =>
  scan.references.map(r => [r.file, r.line, r.image ? formatReference(r.image) : r.error])

describe('a Compose project as Compose reads it', () => {
  // compose-go dotenv (parser.go extractVarValue, godotenv.go expandVariables): unquoted and
  // double-quoted values are interpolated from the environment, then the lines above, an unset
  // variable being empty; single-quoted values are literal; `\$` in double quotes is a `$`.
  it('interpolates .env values like compose-go: unquoted and double-quoted, not single-quoted', () => {
    const env = [
      'REGISTRY=ghcr.io/acme',
      'PY=${PY_VERSION:-3.12}',
      'BASE=${REGISTRY}/python:${PY}-slim # the base',
      'QUOTED="${REGISTRY}/node:22"',
      "LITERAL='${REGISTRY}/go:1'",
      'EMPTY=${NOT_DEFINED}',
      'DOLLAR="a\\$b"'
    ].join('\n')
    expect(parseDotenv(env)).toEqual({
      REGISTRY: 'ghcr.io/acme',
      PY: '3.12',
      BASE: 'ghcr.io/acme/python:3.12-slim',
      QUOTED: 'ghcr.io/acme/node:22',
      LITERAL: '${REGISTRY}/go:1',
      EMPTY: '',
      DOLLAR: 'a$b'
    })
    // the variables a workflow passes win over the file, as the environment does in Compose
    expect(
      parseDotenv('PY=${PY_VERSION:-3.12}', name => (name === 'PY_VERSION' ? '3.13' : undefined)).PY
    ).toBe('3.13')
  })

  it('reads the image a .env value builds from other values', () => {
    const scanned = composeSource.scan(
      'compose.yaml',
      'services:\n  api:\n    image: ${BASE}\n',
      scanContext({ '.env': 'REGISTRY=ghcr.io/acme\nBASE=${REGISTRY}/python:3.12\n' })
    )
    expect(images(scanned)).toEqual([['compose.yaml', 3, 'ghcr.io/acme/python:3.12']])
  })

  // compose-go loader/extends.go: a service takes its base's keys under its own; a base in
  // another file has its relative paths resolved against that file's folder.
  it('follows extends in the same file and in another file, paths relative to the file that defines them', () => {
    const files: Record<string, string> = {
      'common/services.yml':
        'services:\n  base-py:\n    image: python:3.12-slim\n  builder:\n    build:\n      context: ./py\n      args:\n        A: "1"\n'
    }
    const compose =
      'services:\n  web:\n    extends:\n      file: common/services.yml\n      service: base-py\n  job:\n    extends: web\n  worker:\n    extends:\n      file: common/services.yml\n      service: builder\n    build:\n      context: ./py\n      args:\n        B: "2"\n'
    const scanned = scanCompose('compose.yaml', compose, {}, [], path => files[path] ?? null)
    expect(images(scanned)).toEqual([
      ['common/services.yml', 3, 'docker.io/library/python:3.12-slim'],
      ['common/services.yml', 3, 'docker.io/library/python:3.12-slim']
    ])
    expect(builds(scanned)).toEqual([
      expect.objectContaining({ dockerfile: 'py/Dockerfile', buildArgs: { A: '1', B: '2' } })
    ])
    expect(scanned.errors).toEqual([])
  })

  it('says where extends cannot be followed: a missing service or file, a cycle', () => {
    const compose =
      'services:\n  a:\n    extends: b\n  b:\n    extends: a\n  c:\n    extends:\n      file: nowhere.yml\n      service: x\n  d:\n    extends: nobody\n'
    expect(scanCompose('compose.yaml', compose, {}).errors.map(e => [e.line, e.message])).toEqual([
      [3, 'service "a": extends goes round in a circle through a'],
      [5, 'service "b": extends goes round in a circle through b'],
      [7, 'service "c": extends nowhere.yml, which cannot be read'],
      [11, 'service "d": extends service "nobody", which this file does not define']
    ])
  })

  it('follows the top-level include, relative to the including file', () => {
    const compose =
      'include:\n  - ../shared/db.yaml\n  - path: [./monitoring/compose.yaml]\nservices:\n  app:\n    image: alpine\n'
    expect(
      scanCompose('deploy/compose.yaml', compose, {}).follows.map(f => [
        f.path,
        f.fromRoot,
        f.source.name,
        f.by,
        f.line
      ])
    ).toEqual([
      ['shared/db.yaml', true, 'Compose file', 'include', 2],
      ['deploy/monitoring/compose.yaml', true, 'Compose file', 'include', 3]
    ])
  })

  it('an image a service of the project builds is built here: not pulled, and passed on to the Dockerfiles it builds', () => {
    const compose =
      'services:\n  base:\n    build: ./base\n    image: acme-base:${TAG:-dev}\n  api:\n    build:\n      context: ./api\n      args:\n        BASE_IMAGE: acme-base:dev\n  worker:\n    image: acme-base:dev\n  redis:\n    image: redis:7\n'
    const scanned = scanCompose('compose.yaml', compose, {})
    expect(images(scanned)).toEqual([['compose.yaml', 13, 'docker.io/library/redis:7']])
    expect(scanned.notices).toEqual([
      {
        file: 'compose.yaml',
        line: 11,
        message:
          'service "worker" runs docker.io/library/acme-base:dev, which service "base" builds here: not pulled, not checked'
      }
    ])
    expect(builds(scanned).map(b => b.localImages)).toEqual([
      ['docker.io/library/acme-base:dev'],
      ['docker.io/library/acme-base:dev']
    ])
  })

  it('takes the Compose file names users write', async () => {
    const names = [
      'docker-compose-dev.yml',
      'compose-prod.yaml',
      'ops/docker-compose-ci.yaml',
      'stack.compose.yaml'
    ]
    const dir = mkdtempSync(join(tmpdir(), 'bid-compose-names-'))
    try {
      for (const name of names) {
        mkdirSync(join(dir, dirname(name)), { recursive: true })
        writeFileSync(join(dir, name), 'services: {}\n')
      }
      expect((await fg([...DEFAULT_PATTERNS], { cwd: dir })).sort()).toEqual([...names].sort())
      for (const name of names) expect(sourceFor(name, 'services: {}\n')).toBe(composeSource)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('the override file Compose merges over the project', () => {
  // compose-go cli/options.go: without -f, Compose reads the first of compose.yaml,
  // compose.yml, docker-compose.yml, docker-compose.yaml in the folder, then the first of
  // compose.override.yml, compose.override.yaml, docker-compose.override.yml,
  // docker-compose.override.yaml, merged over it (a service's image, build and platform
  // replaced, build args merged); the override is never a project of its own
  let root: string
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'bid-override-'))))
  afterEach(() => rmSync(root, { recursive: true, force: true }))
  const scan = async () => {
    const found = await discoverDirectory(root)
    return {
      references: found.references.map(r => [
        r.file,
        r.line,
        r.image ? formatReference(r.image) : r.error
      ]),
      notices: found.notices.map(n => `${n.file}:${n.line} ${n.message}`),
      errors: found.errors
    }
  }

  it("an override's image over a service that builds is the image it tags, not one it pulls; its new services are the project's", async () => {
    writeFileSync(
      join(root, 'compose.yaml'),
      'services:\n  web:\n    build: .\n  db:\n    image: postgres:16\n'
    )
    writeFileSync(join(root, 'Dockerfile'), 'FROM node:22-alpine\n')
    writeFileSync(
      join(root, 'compose.override.yaml'),
      'services:\n  web:\n    image: myorg/web:dev\n  db:\n    image: postgres:17\n  mail:\n    image: axllent/mailpit:v1.21\n'
    )
    expect(await scan()).toEqual({
      references: [
        ['Dockerfile', 1, 'docker.io/library/node:22-alpine'],
        ['compose.override.yaml', 5, 'docker.io/library/postgres:17'],
        ['compose.override.yaml', 7, 'docker.io/axllent/mailpit:v1.21']
      ],
      notices: [],
      errors: []
    })
  })

  it('an override alone in its folder is read as Compose would be told to with -f', async () => {
    mkdirSync(join(root, 'dev'))
    writeFileSync(
      join(root, 'dev', 'docker-compose.override.yml'),
      'services:\n  cache:\n    image: redis:7.4\n'
    )
    expect((await scan()).references).toEqual([
      ['dev/docker-compose.override.yml', 3, 'docker.io/library/redis:7.4']
    ])
  })
})

describe('the Compose files a workflow names', () => {
  // docker compose -f a -f b (compose-go ProjectOptions.ConfigPaths: the first is the
  // project, each next merged over it, and no default override file); COMPOSE_FILE the same,
  // split on ':' (consts.ComposeFilePath, os.PathListSeparator). The folder's default project
  // is still what `docker compose` pulls there without -f: compose.yaml with its override
  let root: string
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'bid-compose-files-'))
    mkdirSync(join(root, 'deploy'))
    mkdirSync(join(root, '.github', 'workflows'), { recursive: true })
    writeFileSync(
      join(root, 'deploy', 'compose.yaml'),
      'services:\n  web:\n    image: ghcr.io/acme/web:latest\n  db:\n    image: postgres:16\n'
    )
    writeFileSync(
      join(root, 'deploy', 'compose.override.yaml'),
      'services:\n  db:\n    image: postgres:17\n'
    )
    writeFileSync(
      join(root, 'deploy', 'compose.prod.yaml'),
      'services:\n  web:\n    image: ghcr.io/acme/web:1.4.2\n'
    )
  })
  afterEach(() => rmSync(root, { recursive: true, force: true }))
  const scan = async () => {
    const found = await discoverDirectory(root)
    expect(found.errors).toEqual([])
    return found.references.map(r => [r.file, r.line, r.image ? formatReference(r.image) : r.error])
  }

  const BOTH_PROJECTS = [
    // the folder's own: `docker compose up` there
    ['deploy/compose.override.yaml', 3, 'docker.io/library/postgres:17'],
    // the step's: compose.yaml and compose.prod.yaml, without the override
    ['deploy/compose.prod.yaml', 3, 'ghcr.io/acme/web:1.4.2'],
    // web:latest is the folder's own; postgres:16 the step's
    ['deploy/compose.yaml', 3, 'ghcr.io/acme/web:latest'],
    ['deploy/compose.yaml', 5, 'docker.io/library/postgres:16']
  ]

  it('docker compose -f compose.yaml -f compose.prod.yaml in a run step is one project, without the default override; the folder keeps its own', async () => {
    writeFileSync(
      join(root, '.github', 'workflows', 'deploy.yml'),
      'on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    defaults:\n      run:\n        working-directory: deploy\n    steps:\n      - run: |\n          docker compose \\\n            -f compose.yaml -f compose.prod.yaml pull\n'
    )
    expect(await scan()).toEqual(BOTH_PROJECTS)
  })

  it('COMPOSE_FILE from the job env names them the same way', async () => {
    writeFileSync(
      join(root, '.github', 'workflows', 'deploy.yml'),
      'on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    env:\n      COMPOSE_FILE: deploy/compose.yaml:deploy/compose.prod.yaml\n    steps:\n      - run: docker compose up -d --wait\n'
    )
    expect(await scan()).toEqual(BOTH_PROJECTS)
  })
})

describe("a Compose file a workflow names that is not its folder's default", () => {
  it('is read only as the step says, whatever override file is beside it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bid-compose-named-'))
    try {
      mkdirSync(join(root, '.github', 'workflows'), { recursive: true })
      writeFileSync(join(root, 'ci.yaml'), 'services:\n  web:\n    image: ghcr.io/acme/web:ci\n')
      writeFileSync(
        join(root, 'compose.yaml'),
        'services:\n  web:\n    image: ghcr.io/acme/web:base\n'
      )
      writeFileSync(join(root, 'compose.override.yaml'), 'services:\n  web:\n    image: x:dev\n')
      writeFileSync(
        join(root, '.github', 'workflows', 'ci.yml'),
        'on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: docker compose -f ci.yaml up\n'
      )
      const found = await discoverDirectory(root)
      expect(found.errors).toEqual([])
      expect(found.references.map(r => [r.file, r.image && formatReference(r.image)])).toEqual([
        // the step's project: ci.yaml alone
        ['ci.yaml', 'ghcr.io/acme/web:ci'],
        // the folder's: compose.yaml with its override
        ['compose.override.yaml', 'docker.io/library/x:dev']
      ])
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})

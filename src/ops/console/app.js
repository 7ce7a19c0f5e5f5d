// The SettleProof operator console (SPEC §11). A module with no build step: Preact and htm
// render it, uPlot draws the lag chart, all three served by the daemon from its own packages.
// Everything shown comes from /v1/ops/, sent with the operator token the operator typed in,
// which is kept in this tab's sessionStorage only: never in a URL, a cookie or localStorage.
// No inline style or script anywhere (the page's Content-Security-Policy forbids them).
import { h, render } from 'preact'
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import htm from 'htm'
import uPlot from 'uplot'

const html = htm.bind(h)

/** How often every view is read again: at most this long after the previous read ended. */
const REFRESH_MS = 1500
const TOKEN_KEY = 'settleproof.operator_token'
const PENDING_STATES = ['queued', 'in_flight', 'retrying']
const PAGE_SIZE = 25

/** An answer other than 2xx, or no answer: shown as it is, status, code and message. */
class ApiProblem extends Error {
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
  describe() {
    return this.status === 0 ? `no answer from the daemon: ${this.message}` : `HTTP ${this.status} ${this.code}: ${this.message}`
  }
}

/** Calls the operator API, relative to the page so that a proxy may mount both under a prefix. */
async function api(token, path, init = {}) {
  let response
  try {
    response = await fetch(path, { ...init, cache: 'no-store', credentials: 'omit', headers: { ...init.headers, authorization: `Bearer ${token}` } })
  } catch (error) {
    throw new ApiProblem(0, 'network', error instanceof Error ? error.message : String(error))
  }
  const text = await response.text()
  let body = null
  try {
    body = JSON.parse(text)
  } catch {
    body = null
  }
  if (!response.ok) {
    const problem = body && body.error
    throw new ApiProblem(response.status, (problem && problem.code) || 'http_error', (problem && problem.message) || text.slice(0, 200) || response.statusText)
  }
  return body
}

const readToken = () => {
  try {
    return sessionStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

function App() {
  const [token, setToken] = useState(readToken)
  const [notice, setNotice] = useState(null)
  const forget = useCallback((message) => {
    sessionStorage.removeItem(TOKEN_KEY)
    setToken(null)
    setNotice(message ?? null)
  }, [])
  const accept = useCallback((value) => {
    sessionStorage.setItem(TOKEN_KEY, value)
    setNotice(null)
    setToken(value)
  }, [])
  return token === null ? html`<${TokenPrompt} notice=${notice} onAccept=${accept} />` : html`<${Dashboard} token=${token} onForget=${forget} />`
}

function TokenPrompt({ notice, onAccept }) {
  const [error, setError] = useState(notice)
  const [busy, setBusy] = useState(false)
  const submit = async (event) => {
    event.preventDefault()
    const value = new FormData(event.currentTarget).get('token').trim()
    if (value === '') return setError('Type the operator token (server.operator_token).')
    setBusy(true)
    try {
      await api(value, 'v1/ops/status')
      onAccept(value)
    } catch (problem) {
      setError(problem.status === 401 ? 'The daemon refused this token (HTTP 401): it is not server.operator_token.' : problem.describe())
    } finally {
      setBusy(false)
    }
  }
  return html`
    <main class="prompt">
      <h1>SettleProof console</h1>
      <form data-testid="token-form" onSubmit=${submit}>
        <label for="token">Operator token</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" data-testid="token-input" autofocus />
        <button type="submit" disabled=${busy}>Open the console</button>
        ${error && html`<p class="error" role="alert" data-testid="token-error">${error}</p>`}
        <p class="hint">The token stays in this tab (session storage) and is sent only to this daemon, in the Authorization header.</p>
      </form>
    </main>`
}

/** Reads every view now and then again every REFRESH_MS; a 401 anywhere sends the operator back to the prompt. */
function usePolling(token, pendingQuery, onUnauthorized) {
  const [views, setViews] = useState({})
  const [refreshedAt, setRefreshedAt] = useState(null)
  const [generation, setGeneration] = useState(0)
  useEffect(() => {
    let stopped = false
    let timer
    const tick = async () => {
      const started = Date.now()
      const paths = {
        status: 'v1/ops/status',
        lag: 'v1/ops/lag',
        merchants: 'v1/ops/merchants',
        deadLetters: 'v1/ops/dead-letters',
        pending: `v1/ops/outbox?${pendingQuery}`,
      }
      const names = Object.keys(paths)
      const results = await Promise.allSettled(names.map((name) => api(token, paths[name])))
      if (stopped) return
      if (results.some((r) => r.status === 'rejected' && r.reason.status === 401)) return onUnauthorized('The daemon refused the token (HTTP 401): type it again.')
      setViews((previous) => {
        const next = {}
        names.forEach((name, i) => {
          const r = results[i]
          next[name] = r.status === 'fulfilled' ? { data: r.value, error: null } : { data: previous[name]?.data ?? null, error: r.reason instanceof ApiProblem ? r.reason.describe() : String(r.reason) }
        })
        return next
      })
      setRefreshedAt(new Date())
      timer = setTimeout(tick, Math.max(0, REFRESH_MS - (Date.now() - started)))
    }
    tick()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [token, pendingQuery, generation, onUnauthorized])
  return { views, refreshedAt, refreshNow: () => setGeneration((g) => g + 1) }
}

function Dashboard({ token, onForget }) {
  const [filter, setFilter] = useState({ status: '', merchant: '' })
  const [cursors, setCursors] = useState([]) // the cursors of the pages before this one, and this one last
  const pendingQuery = new URLSearchParams({ limit: String(PAGE_SIZE), ...(filter.status ? { status: filter.status } : {}), ...(filter.merchant ? { merchant: filter.merchant } : {}), ...(cursors.length ? { cursor: cursors.at(-1) } : {}) }).toString()
  const unauthorized = useCallback((message) => onForget(message), [onForget])
  const { views, refreshedAt, refreshNow } = usePolling(token, pendingQuery, unauthorized)
  const status = views.status?.data
  const setPendingFilter = (change) => {
    setFilter((f) => ({ ...f, ...change }))
    setCursors([])
  }
  return html`
    <header class="top">
      <h1>SettleProof console</h1>
      <span class="meta">${status ? `chain ${status.chain_id} · quorum ${status.quorum} of ${status.providers.length}` : 'connecting…'}</span>
      <span class="meta" data-testid="refreshed-at">${refreshedAt ? `updated ${refreshedAt.toLocaleTimeString()}` : ''}</span>
      <button type="button" class="quiet" onClick=${() => onForget(null)}>Forget token</button>
    </header>
    <main class="grid">
      <${ChainPanel} view=${views.status} lag=${views.lag} />
      <${ProvidersPanel} view=${views.status} />
      <${DeliveriesPanel} status=${views.status} merchants=${views.merchants} />
      <${PendingPanel}
        view=${views.pending}
        merchants=${views.merchants?.data?.merchants ?? []}
        filter=${filter}
        onFilter=${setPendingFilter}
        page=${cursors.length + 1}
        onNext=${(cursor) => setCursors((c) => [...c, cursor])}
        onPrevious=${() => setCursors((c) => c.slice(0, -1))}
      />
      <${DeadLettersPanel} view=${views.deadLetters} token=${token} onReplayed=${refreshNow} onUnauthorized=${unauthorized} />
      <${InvoicePanel} token=${token} onUnauthorized=${unauthorized} />
    </main>`
}

function Panel({ title, id, error, children, wide }) {
  return html`
    <section class=${wide ? 'panel wide' : 'panel'} aria-labelledby=${`${id}-title`} data-testid=${id}>
      <h2 id=${`${id}-title`}>${title}</h2>
      ${error && html`<p class="error" role="alert" data-testid=${`${id}-error`}>${error}</p>`}
      ${children}
    </section>`
}

function ChainPanel({ view, lag }) {
  const s = view?.data
  const samples = lag?.data?.samples ?? []
  return html`
    <${Panel} title="Chain" id="chain" error=${view?.error || lag?.error} wide>
      <div class="figures">
        <${Figure} label="checkpoint" value=${s?.checkpoint} id="checkpoint" />
        <${Figure} label="quorum head" value=${s?.head} id="head" />
        <${Figure} label="safe head" value=${s?.safe_head} id="safe-head" />
        <${Figure} label="lag (blocks)" value=${s?.lag} id="lag" emphasis=${s && s.lag > 0} />
      </div>
      <${Cluster} cluster=${s?.cluster} known=${s !== undefined && s !== null} />
      <h3>Lag, last hour</h3>
      <${LagChart} samples=${samples} />
    <//>`
}

function Figure({ label, value, id, emphasis }) {
  return html`<div class=${emphasis ? 'figure emphasis' : 'figure'}><span class="value" data-testid=${id}>${value ?? '–'}</span><span class="label">${label}</span></div>`
}

function Cluster({ cluster, known }) {
  if (!known) return null
  if (cluster === null || cluster === undefined) {
    return html`<p class="cluster" data-testid="cluster">Replicas: one process (lowdb store). It is the only replica and reads the chain itself.</p>`
  }
  const replicas = cluster.replicas ?? []
  return html`
    <div class="cluster" data-testid="cluster">
      <p>Keeper: <strong>${cluster.keeper ?? 'none'}</strong>${cluster.round !== undefined ? ` · round ${cluster.round}` : ''}</p>
      <table>
        <thead><tr><th>replica</th><th>heartbeat age</th><th>role</th></tr></thead>
        <tbody>${replicas.map((r) => html`<tr key=${r.id}><td>${r.id}</td><td>${r.heartbeat_age_ms === undefined ? '–' : `${Math.round(r.heartbeat_age_ms)} ms`}</td><td>${r.id === cluster.keeper ? 'keeper' : 'replica'}</td></tr>`)}</tbody>
      </table>
    </div>`
}

/** The lag of the last hour. uPlot is created once and fed new data on every refresh. */
function LagChart({ samples }) {
  const container = useRef(null)
  const plot = useRef(null)
  useEffect(() => {
    const element = container.current
    const size = () => ({ width: Math.max(320, element.clientWidth - 8), height: 200 })
    plot.current = new uPlot(
      {
        ...size(),
        scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(5, max ?? 0)] } },
        series: [{}, { label: 'lag (blocks)', stroke: '#c2410c', width: 2, fill: 'rgba(194, 65, 12, 0.10)', spanGaps: false }],
        axes: [{}, { label: 'blocks', size: 60 }],
        legend: { show: true },
      },
      [[], []],
      element,
    )
    const resize = () => plot.current.setSize(size())
    window.addEventListener('resize', resize)
    return () => {
      window.removeEventListener('resize', resize)
      plot.current.destroy()
    }
  }, [])
  useEffect(() => {
    plot.current?.setData([samples.map((s) => s.at / 1000), samples.map((s) => s.lag)])
  }, [samples])
  return html`<div class="chart" ref=${container} data-testid="lag-chart" data-samples=${samples.length} data-last-lag=${samples.at(-1)?.lag ?? ''}></div>`
}

const BREAKER_TEXT = { closed: 'closed', open: 'open', half_open: 'half-open', isolated: 'isolated' }

function Breaker({ state }) {
  return html`<span class=${`badge state-${state}`} data-testid="breaker">${BREAKER_TEXT[state] ?? state}</span>`
}

function ProvidersPanel({ view }) {
  const providers = view?.data?.providers ?? []
  return html`
    <${Panel} title="Providers" id="providers" error=${view?.error} wide>
      <table>
        <thead><tr><th>provider</th><th>breaker</th><th class="num">consecutive failures</th><th class="num">half-open in</th><th class="num">latency</th><th class="num">head</th><th class="num">disagreements</th><th>last error</th></tr></thead>
        <tbody>
          ${providers.map(
            (p) => html`<tr key=${p.name} data-testid="provider-row" data-name=${p.name}>
              <td>${p.name}${p.refused && html`<div class="refused">refused: ${p.refused}</div>`}</td>
              <td><${Breaker} state=${p.breaker_state} /></td>
              <td class="num">${p.consecutive_failures}</td>
              <td class="num">${p.half_open_in_ms === null ? '–' : duration(p.half_open_in_ms)}</td>
              <td class="num">${p.latency_ms === null ? '–' : `${p.latency_ms} ms`}</td>
              <td class="num">${p.head ?? '–'}</td>
              <td class="num">${p.disagreements}</td>
              <td class="text">${p.last_error ?? '–'}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    <//>`
}

function DeliveriesPanel({ status, merchants }) {
  const d = status?.data?.deliveries
  const i = status?.data?.invoices
  const list = merchants?.data?.merchants ?? []
  return html`
    <${Panel} title="Deliveries" id="deliveries" error=${merchants?.error} wide>
      ${d && html`<p class="counts" data-testid="delivery-counts">
        ${['queued', 'in_flight', 'retrying', 'delivered', 'dead'].map((state) => html`<span key=${state} class=${`count state-${state}`}><strong>${d[state]}</strong> ${state.replace('_', ' ')}</span>`)}
      </p>`}
      ${i && html`<p class="counts">invoices: <span class="count"><strong>${i.open}</strong> open</span><span class="count"><strong>${i.settled}</strong> settled</span><span class="count"><strong>${i.expired}</strong> expired</span></p>`}
      <table>
        <thead><tr><th>merchant</th><th>endpoint breaker</th><th class="num">pending</th><th class="num">delivered*</th><th class="num">failed attempts*</th><th class="num">dead*</th><th class="num">dead letters (not replayed)</th></tr></thead>
        <tbody>
          ${list.map(
            (m) => html`<tr key=${m.id} data-testid="merchant-row" data-id=${m.id}>
              <td>${m.id}</td>
              <td><${Breaker} state=${m.breaker_state} /></td>
              <td class="num">${m.pending}</td>
              <td class="num">${m.attempts_since_start.delivered}</td>
              <td class="num">${m.attempts_since_start.retrying}</td>
              <td class="num">${m.attempts_since_start.dead}</td>
              <td class="num">${m.dead_letters} (${m.dead_letters_not_replayed})</td>
            </tr>`,
          )}
        </tbody>
      </table>
      <p class="hint">* webhook attempts since this daemon started.</p>
    <//>`
}

function PendingPanel({ view, merchants, filter, onFilter, page, onNext, onPrevious }) {
  const entries = view?.data?.entries ?? []
  const next = view?.data?.next_cursor ?? null
  return html`
    <${Panel} title="Pending events" id="pending" error=${view?.error} wide>
      <div class="filters">
        <label>state
          <select data-testid="pending-status" value=${filter.status} onChange=${(e) => onFilter({ status: e.currentTarget.value })}>
            <option value="">any pending</option>
            ${PENDING_STATES.map((s) => html`<option key=${s} value=${s}>${s.replace('_', ' ')}</option>`)}
          </select>
        </label>
        <label>merchant
          <select data-testid="pending-merchant" value=${filter.merchant} onChange=${(e) => onFilter({ merchant: e.currentTarget.value })}>
            <option value="">any</option>
            ${merchants.map((m) => html`<option key=${m.id} value=${m.id}>${m.id}</option>`)}
          </select>
        </label>
        <span class="pager">
          <button type="button" class="quiet" disabled=${page === 1} onClick=${onPrevious}>← previous</button>
          <span>page ${page}</span>
          <button type="button" class="quiet" disabled=${next === null} onClick=${() => onNext(next)}>next →</button>
        </span>
      </div>
      ${entries.length === 0
        ? html`<p class="empty" data-testid="pending-empty">Nothing pending${filter.status || filter.merchant ? ' with these filters' : ''}.</p>`
        : html`<table>
            <thead><tr><th>webhook id</th><th>merchant</th><th>type</th><th>invoice</th><th>state</th><th class="num">attempts</th><th>next attempt</th><th>last error</th></tr></thead>
            <tbody>
              ${entries.map(
                (e) => html`<tr key=${e.webhook_id} data-testid="pending-row" data-webhook-id=${e.webhook_id}>
                  <td class="mono">${e.webhook_id}</td>
                  <td>${e.merchant_id}</td>
                  <td>${e.type}</td>
                  <td class="mono">${e.invoice_uuid ?? '–'}</td>
                  <td><span class=${`badge state-${e.state}`}>${e.state.replace('_', ' ')}</span></td>
                  <td class="num">${e.attempts}</td>
                  <td>${e.next_attempt_at === null ? 'as soon as possible' : html`${timeOf(e.next_attempt_at)} <span class="hint">(${relative(e.next_attempt_at)})</span>`}</td>
                  <td class="text">${e.last_error ?? '–'}</td>
                </tr>`,
              )}
            </tbody>
          </table>`}
    <//>`
}

function DeadLettersPanel({ view, token, onReplayed, onUnauthorized }) {
  const data = view?.data
  const letters = data?.dead_letters ?? []
  const [result, setResult] = useState(null)
  const [busy, setBusy] = useState(false)
  const replay = async (body, question) => {
    if (!window.confirm(question)) return
    setBusy(true)
    try {
      const answer = await api(token, 'v1/ops/dead-letters/replay', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      setResult({ error: null, outcomes: answer.outcomes })
    } catch (problem) {
      if (problem.status === 401) return onUnauthorized('The daemon refused the token (HTTP 401): type it again.')
      setResult({ error: problem.describe(), outcomes: [] })
    } finally {
      setBusy(false)
      onReplayed()
    }
  }
  return html`
    <${Panel} title="Dead letters" id="dead-letters" error=${view?.error} wide>
      <div class="filters">
        <span>${data ? `${data.total} dead letter${data.total === 1 ? '' : 's'}, ${data.not_replayed} not replayed` : ''}</span>
        <button type="button" data-testid="replay-all" disabled=${busy || !data || data.not_replayed === 0}
          onClick=${() => replay({ all: true }, `Replay all ${data.not_replayed} dead letters not yet replayed? Each is sent again to its merchant's current webhook URL with its original webhook-id.`)}>
          Replay all
        </button>
      </div>
      ${result && html`<div class=${result.error ? 'result error' : 'result'} role="status" data-testid="replay-result">
        ${result.error ?? (result.outcomes.length === 0 ? 'Nothing to replay.' : result.outcomes.map((o) => html`<div key=${o.webhook_id}>${o.result} ${o.webhook_id}${o.status ? `: HTTP ${o.status}` : ''}${o.reason ? `: ${o.reason}` : ''}</div>`))}
      </div>`}
      ${letters.length === 0
        ? html`<p class="empty">No dead letters.</p>`
        : html`<table>
            <thead><tr><th>webhook id</th><th>merchant</th><th>type</th><th>invoice</th><th class="num">attempts</th><th>dead at</th><th>last error</th><th>webhook URL</th><th>replay</th></tr></thead>
            <tbody>
              ${letters.map(
                (l) => html`<tr key=${l.webhook_id} data-testid="dead-letter-row" data-webhook-id=${l.webhook_id}>
                  <td class="mono">${l.webhook_id}</td>
                  <td>${l.merchant_id}</td>
                  <td>${l.type}</td>
                  <td class="mono">${l.payload?.data?.invoice_uuid ?? '–'}</td>
                  <td class="num">${l.attempts}</td>
                  <td>${timeOf(l.dead_at)}</td>
                  <td class="text">${l.last_error ?? '–'}</td>
                  <td class="text mono">${l.url}</td>
                  <td data-testid="replay-state">${l.replayed_at
                    ? html`<span class="badge state-delivered">replayed ${timeOf(l.replayed_at)}</span>`
                    : html`<button type="button" data-testid="replay" disabled=${busy}
                        onClick=${() => replay({ ids: [l.webhook_id] }, `Replay ${l.webhook_id} (${l.type}) to ${l.merchant_id}? It is sent again with its original webhook-id.`)}>Replay</button>`}</td>
                </tr>`,
              )}
            </tbody>
          </table>`}
    <//>`
}

function InvoicePanel({ token, onUnauthorized }) {
  const [state, setState] = useState({ invoice: null, error: null })
  const lookup = async (event) => {
    event.preventDefault()
    const uuid = new FormData(event.currentTarget).get('uuid').trim()
    if (uuid === '') return
    try {
      setState({ invoice: await api(token, `v1/ops/invoices/${encodeURIComponent(uuid)}`), error: null })
    } catch (problem) {
      if (problem.status === 401) return onUnauthorized('The daemon refused the token (HTTP 401): type it again.')
      setState({ invoice: null, error: problem.status === 404 ? `No invoice with uuid ${uuid}.` : problem.describe() })
    }
  }
  const inv = state.invoice
  return html`
    <${Panel} title="Invoice lookup" id="invoice" error=${state.error} wide>
      <form class="filters" data-testid="invoice-form" onSubmit=${lookup}>
        <label>uuid <input name="uuid" data-testid="invoice-uuid" size="40" spellcheck="false" autocomplete="off" /></label>
        <button type="submit">Look up</button>
      </form>
      ${inv && html`<dl class="invoice" data-testid="invoice-result">
        <dt>uuid</dt><dd class="mono">${inv.uuid}</dd>
        <dt>merchant</dt><dd>${inv.merchant_id}</dd>
        <dt>status</dt><dd><span class=${`badge invoice-${inv.status}`} data-testid="invoice-status">${inv.status}</span></dd>
        <dt>amount</dt><dd class="mono">${inv.amount} of ${inv.token}</dd>
        <dt>created</dt><dd>${timeOf(inv.created_at)}</dd>
        ${inv.settlement && html`<dt>settled by</dt><dd class="mono">${inv.settlement.tx_hash} (block ${inv.settlement.block_number}, log ${inv.settlement.log_index}; providers ${(inv.settlement.providers ?? []).join(', ')})</dd>`}
        ${inv.delivery && html`<dt>webhook</dt><dd><span class="mono">${inv.delivery.webhook_id}</span>: ${inv.delivery.status.replace('_', ' ')} after ${inv.delivery.attempts} attempt${inv.delivery.attempts === 1 ? '' : 's'}${inv.delivery.last_error ? ` (last error: ${inv.delivery.last_error})` : ''}</dd>`}
      </dl>`}
    <//>`
}

function timeOf(iso) {
  if (!iso) return '–'
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

function relative(iso) {
  const ms = Date.parse(iso) - Date.now()
  return ms >= 0 ? `in ${duration(ms)}` : `${duration(-ms)} ago`
}

function duration(ms) {
  const s = Math.round(ms / 1000)
  if (s < 120) return `${s} s`
  const m = Math.round(s / 60)
  return m < 120 ? `${m} min` : `${Math.round(m / 60)} h`
}

render(html`<${App} />`, document.getElementById('app'))

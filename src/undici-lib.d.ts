// undici's own modules, imported one by one (see registry/undici.ts); typed there
declare module 'undici/lib/dispatcher/agent.js' {
  const Agent: unknown
  export default Agent
}
declare module 'undici/lib/api/api-request.js' {
  const request: unknown
  export default request
}
declare module 'undici/lib/dispatcher/client.js' {
  const Client: unknown
  export default Client
}
declare module 'undici/lib/dispatcher/pool.js' {
  const Pool: unknown
  export default Pool
}
declare module 'undici/lib/core/connect.js' {
  const buildConnector: unknown
  export default buildConnector
}

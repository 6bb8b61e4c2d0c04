export { MigrationSender, MigrationReceiver, AckReader, ackRecord, MIGRATION_VERSION, type Ack, type MigrationHandlers, type RoundEnd } from './stream.js'
export { parseEndpoint, connectEndpoint, listenEndpoint, type Endpoint, type Channel } from './endpoint.js'

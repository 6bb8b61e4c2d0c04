export * from './mair.js'

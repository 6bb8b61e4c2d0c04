export * from './psci.js'

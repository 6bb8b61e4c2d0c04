export * from './syndrome.js'

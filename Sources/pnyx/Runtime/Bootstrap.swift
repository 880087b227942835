import Logging
import Metrics
import Prometheus

/// Process-wide logging and metrics set-up: done once, here, and nowhere in the libraries.
enum Bootstrap {
    static let registry = PrometheusCollectorRegistry()

    static func start(logLevel: String) -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        MetricsSystem.bootstrap(factory)
        var logger = Logger(label: "pnyx")
        logger.logLevel = level
        return logger
    }
}

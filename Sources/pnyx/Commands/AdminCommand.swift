import PnyxCore
import ArgumentParser
import Foundation
import PnyxConfig
import PnyxControl

/// `pnyx admin …`: staff accounts, API tokens and the audit log, working on `<data_dir>/control.sqlite` directly
/// (Pnyx may be running; SQLite's WAL lets both work).
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Manage staff accounts, API tokens and the audit log.",
        subcommands: [CreateUser.self, ListUsers.self, ResetUser.self, DisableUser.self, EnableUser.self, CreateToken.self, RevokeToken.self, Audit.self])

    struct Target: ParsableArguments {
        @Option(name: .shortAndLong, help: "The YAML configuration file (its data_dir holds the accounts).")
        var config: String

        func open() throws -> (ControlPlane, PnyxConfiguration) {
            let configuration: PnyxConfiguration
            do {
                configuration = try ConfigLoader.load(path: config)
            } catch {
                for problem in error.errors { printError(problem.description) }
                throw ExitCode(1)
            }
            try Filesystem.makeDirectory(configuration.dataDirectory)
            return (try ControlPlane.open(dataDirectory: configuration.dataDirectory), configuration)
        }
    }

    static var actor: Actor {
        Actor(name: ProcessInfo.processInfo.environment["USER"].map { "cli:\($0)" } ?? "cli", via: "cli", client: "cli")
    }

    struct CreateUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-user",
            abstract: "Create a staff account and print its one-time TOTP enrolment secret.",
            discussion: """
                Roles: state_admin (every site, users, reload), county_admin (changes only its --site sites), viewer
                (reads its --site sites, or every site if none). Every account signs in with a password and a code
                from an authenticator app. Without --password-stdin a strong password is generated and printed once.
                """)

        @Argument(help: "User name (a–z, 0–9, '.', '-', '_', '@').")
        var name: String

        @Option(help: "state_admin, county_admin or viewer.")
        var role: String

        @Option(name: .customLong("site"), help: "A site the account is scoped to (repeat for several).")
        var sites: [String] = []

        @Flag(help: "Read the password from the first line of standard input.")
        var passwordStdin = false

        @OptionGroup var target: Target

        func run() async throws {
            guard let role = Role(rawValue: role) else {
                printError("--role is one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
                throw ExitCode(1)
            }
            let (control, configuration) = try target.open()
            let known = Set(configuration.sites.map(\.name.rawValue))
            if let unknown = sites.first(where: { !known.contains($0) }) {
                printError("no site named '\(unknown)' in \(target.config) (sites: \(known.sorted().joined(separator: ", ")))")
                throw ExitCode(1)
            }
            let password: String
            let generated: Bool
            if passwordStdin {
                password = (readLine(strippingNewline: true) ?? "")
                generated = false
            } else {
                password = Accounts.generatedPassword()
                generated = true
            }
            let enrollment: Enrollment
            do {
                enrollment = try await control.accounts.create(name: name, role: role, sites: sites, password: password, by: AdminCommand.actor)
            } catch let error as AccountError {
                printError(error.message)
                throw ExitCode(1)
            }
            print("created \(role.rawValue) '\(name)'\(sites.isEmpty ? "" : " for \(sites.joined(separator: ", "))")")
            if generated { print("password:     \(password)   (shown once; store it in a password manager)") }
            print("TOTP secret:  \(enrollment.secret)   (shown once; add it to an authenticator app)")
            print("TOTP URI:     \(enrollment.uri)")
            if let admin = configuration.admin.listen {
                print("sign in at:   http://\(admin.host == "0.0.0.0" ? "127.0.0.1" : admin.host):\(admin.port)/login")
            }
        }
    }

    struct ListUsers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list-users", abstract: "List staff accounts.")
        @OptionGroup var target: Target

        func run() async throws {
            let (control, _) = try target.open()
            let users = try await control.accounts.list()
            if users.isEmpty { print("no accounts yet: pnyx admin create-user NAME --role state_admin --config FILE") }
            let now = wallMillis()
            for user in users {
                let state = user.disabled ? "disabled" : (user.lockedUntilMillis > now ? "locked" : (user.enrolled ? "active" : "not signed in yet"))
                print(user.name.padding(24), user.role.rawValue.padding(14), (user.sites.isEmpty ? "all sites" : user.sites.joined(separator: ",")).padding(24), state)
            }
        }
    }

    struct ResetUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-user",
            abstract: "Reset an account's password and authenticator (forgotten password, lost phone).",
            discussion: """
                Prints a new generated password and a new TOTP secret once, clears a lockout and ends the account's \
                sessions. The old password and authenticator stop working; the user enrols again at the next sign-in.
                """)
        @Argument var name: String
        @OptionGroup var target: Target
        func run() async throws {
            let (control, _) = try target.open()
            do {
                let (password, enrollment) = try await control.accounts.reset(name: name, by: AdminCommand.actor)
                print("reset '\(name)'")
                print("password:     \(password)   (shown once; give it to \(name) in person or by phone)")
                print("TOTP secret:  \(enrollment.secret)   (shown once; add it to an authenticator app)")
                print("TOTP URI:     \(enrollment.uri)")
            } catch let error as AccountError {
                printError(error.message)
                throw ExitCode(1)
            }
        }
    }

    struct DisableUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "disable-user", abstract: "Disable an account and end its sessions.")
        @Argument var name: String
        @OptionGroup var target: Target
        func run() async throws {
            let (control, _) = try target.open()
            do { try await control.accounts.setDisabled(name, true, by: AdminCommand.actor) } catch let error as AccountError {
                printError(error.message)
                throw ExitCode(1)
            }
            print("disabled '\(name)'")
        }
    }

    struct EnableUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "enable-user", abstract: "Enable a disabled account.")
        @Argument var name: String
        @OptionGroup var target: Target
        func run() async throws {
            let (control, _) = try target.open()
            do { try await control.accounts.setDisabled(name, false, by: AdminCommand.actor) } catch let error as AccountError {
                printError(error.message)
                throw ExitCode(1)
            }
            print("enabled '\(name)'")
        }
    }

    struct CreateToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-token", abstract: "Create a scoped API token (for scripts) and print it once.")
        @Argument(help: "What the token is for.") var name: String
        @Option(help: "state_admin, county_admin or viewer.") var role: String
        @Option(name: .customLong("site"), help: "A site the token is scoped to (repeat for several).") var sites: [String] = []
        @OptionGroup var target: Target
        func run() async throws {
            guard let role = Role(rawValue: role) else {
                printError("--role is one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
                throw ExitCode(1)
            }
            let (control, _) = try target.open()
            do {
                let (token, info) = try await control.tokens.create(name: name, role: role, sites: sites, by: AdminCommand.actor)
                print("token \(info.id): \(token)")
                print("use:   curl -H 'Authorization: Bearer \(token)' http://ADMIN/api/v1/status")
            } catch let error as AccountError {
                printError(error.message)
                throw ExitCode(1)
            }
        }
    }

    struct RevokeToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-token", abstract: "Revoke an API token by id.")
        @Argument var id: String
        @OptionGroup var target: Target
        func run() async throws {
            let (control, _) = try target.open()
            guard try await control.tokens.revoke(id: id, by: AdminCommand.actor) else {
                printError("no live token with id '\(id)'")
                throw ExitCode(1)
            }
            print("revoked \(id)")
        }
    }

    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or verify the audit log.", subcommands: [Verify.self, List.self], defaultSubcommand: List.self)

        struct Verify: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Recompute the audit log's hash chain; exit 1 if any entry was altered, removed or reordered.")
            @OptionGroup var target: Target
            func run() async throws {
                let (control, _) = try target.open()
                let result = try await control.audit.verify()
                if result.ok {
                    print("audit log intact: \(result.entries) entries, hash chain verified")
                    return
                }
                for problem in result.problems { printError(problem) }
                printError("audit log TAMPERED: \(result.problems.count) problem(s) in \(result.entries) entries")
                throw ExitCode(1)
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print the newest audit entries.")
            @Option(help: "How many.") var limit = 50
            @OptionGroup var target: Target
            func run() async throws {
                let (control, _) = try target.open()
                for e in try await control.audit.entries(limit: limit) {
                    let time = iso8601(millis: e.timeMillis)
                    print("\(e.seq)\t\(time)\t\(e.actor) (\(e.via), \(e.client))\t\(e.action)\t\(e.target)\t\(e.before) → \(e.after)")
                }
            }
        }
    }
}
